"""The editor's side of the web app: `serve`, `check` on [web], `unsubscribe` with whole links,
`subscribers add --pending`, `list`/`status` per newsletter, `export` without formulas, and
state files from before it."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result
from delivery_helpers import publisher_command
from email_helpers import SECRET, T0
from web_helpers import bound_socket, link_in, outbox_messages

from publisher.cli import cli
from publisher.config import load_config
from publisher.newsletters.message import preferences_link, unsubscribe_links
from publisher.newsletters.tokens import make_token
from publisher.store import Store
from publisher.store import subscribers as table

ROOT = Path(__file__).parent.parent
NOW = "2024-06-19T20:00:00+09:00"
ENV = {"PUBLISHER_SECRET": SECRET.decode()}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    for folder in ("content", "email_templates"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "config.example.toml", tmp_path / "publisher.toml")
    return tmp_path


def run(site: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    environ: dict[str, str | None] = {"PUBLISHER_SECRET": None, **(env or {})}
    return CliRunner().invoke(
        cli, ["-c", str(site / "publisher.toml"), *args], env=environ, catch_exceptions=False
    )


def edit(site: Path, old: str, new: str) -> None:
    path = site / "publisher.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- publisher check ---------------------------------------------------------------------


def test_check_passes_the_example_as_it_is(site: Path) -> None:
    result = run(site, "check", "--now", NOW, env=ENV)
    assert (result.exit_code, result.stderr) == (0, "")


def test_check_warns_of_plain_http_outside_this_machine(site: Path) -> None:
    edit(site, 'base_url = "http://127.0.0.1:8080/"', 'base_url = "http://newsdao.kr/newsletter"')
    result = run(site, "check", "--now", NOW, env=ENV)
    assert result.exit_code == 0
    assert result.stderr.startswith(
        "warning: [web] base_url: 'http://newsdao.kr/newsletter/' is not https: fine on this "
        "machine, but in production"
    )


def test_check_refuses_another_unsubscribe_page_next_to_web(site: Path) -> None:
    edit(site, 'unsubscribe_url = ""', 'unsubscribe_url = "https://newsdao.kr/leave"')
    result = run(site, "check", "--now", NOW, env=ENV)
    assert result.exit_code == 1
    assert (
        "[email] unsubscribe_url: 'https://newsdao.kr/leave' differs from the web app's page "
        "'http://127.0.0.1:8080/unsubscribe': with [web] the emails link to the web app; "
        "remove unsubscribe_url" in result.stderr
    )


def test_check_without_web_or_unsubscribe_url_says_to_add_web(site: Path) -> None:
    path = site / "publisher.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n# The subscriber web app")], encoding="utf-8")
    result = run(site, "check", "--now", NOW, env=ENV)
    assert "warning: [email] unsubscribe_url: not set" in result.stderr
    assert "add a [web] table and run 'publisher serve'" in result.stderr


def test_check_names_a_broken_page_template_and_its_line(site: Path) -> None:
    page = site / "email_templates" / "web" / "preferences.html.j2"
    page.write_text(page.read_text(encoding="utf-8").replace("{%- endfor %}", ""), "utf-8")
    result = run(site, "check", "--now", NOW, env=ENV)
    assert result.exit_code == 1
    assert f"{page}:" in result.stderr
    assert "template syntax error" in result.stderr


def test_serve_without_web_says_what_to_add(site: Path) -> None:
    path = site / "publisher.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n# The subscriber web app")], encoding="utf-8")
    result = run(site, "serve", env=ENV)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the web app needs a [web] table with base_url in the config: see "
        "config.example.toml\n"
    )


def test_serve_on_a_port_in_use_says_so(site: Path) -> None:
    with bound_socket() as taken:
        port = taken.getsockname()[1]
        result = run(site, "serve", "--port", str(port), env=ENV)
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: cannot listen on 127.0.0.1:{port} (Address already in use): choose another "
        "--port, or stop what is using it\n"
    )


# -- publisher unsubscribe ---------------------------------------------------------------


def _token(site: Path, version: int = 1) -> str:
    run(site, "subscribers", "list", "--now", NOW)  # adds the example's reader, id 1
    max_age = load_config(site / "publisher.toml").email.token_max_age
    return make_token(SECRET, 1, "breaking", T0, max_age, version=version)


def _links(site: Path, token: str) -> tuple[str, str]:
    from publisher.newsletters.message import SharedParts

    shared = SharedParts(
        issue_id="x",
        newsletter_id="breaking",
        headers=b"",
        text=None,  # type: ignore[arg-type]
        html=None,  # type: ignore[arg-type]
        boundary=b"",
        envelope_sender="news@newsdao.kr",
        message_id_domain="newsdao.kr",
        unsubscribe_url="",
        unsubscribe_mailto="unsubscribe@newsdao.kr",
        web_url="http://127.0.0.1:8080/",
    )
    return unsubscribe_links(shared, token)


@pytest.mark.parametrize("form", ["token", "link", "mailto", "subject", "query"])
def test_unsubscribe_takes_the_whole_link_or_what_the_mailto_sets(site: Path, form: str) -> None:
    token = _token(site)
    url, mailto = _links(site, token)
    given = {
        "token": token,
        "link": url,
        "mailto": mailto,
        "subject": f"unsubscribe {token}",
        "query": f"https://newsdao.kr/unsubscribe?token={token}",
    }[form]
    done = run(site, "unsubscribe", given, "--now", NOW, env=ENV)
    assert done.exit_code == 0, done.stderr
    assert done.output == "reader@example.com: unsubscribed from breaking (still receives daily)\n"
    again = run(site, "unsubscribe", given, "--now", NOW, env=ENV)
    assert again.output == "reader@example.com: not subscribed to breaking (nothing to do)\n"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "\u0661.breaking.\u0661\u0667\u0665.AAAAAAAAAAAAAAAAAAAAAA", id="arabic-indic"
        ),
        pytest.param("u.1.breaking.1.1750330800." + "A" * 5000, id="over-long"),
        pytest.param("mailto:x@example.com?subject=hello", id="mailto-without-token"),
        pytest.param("https://example.com/unsubscribe/%ZZ", id="broken-link"),
    ],
)
def test_unsubscribe_refuses_what_is_not_a_token_without_a_traceback(site: Path, text: str) -> None:
    _token(site)
    refused = run(site, "unsubscribe", text, "--now", NOW, env=ENV)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: ")
    assert "is not an unsubscribe link's token: copy the whole link from the email" in (
        refused.stderr
    )


def test_unsubscribe_refuses_a_link_from_before_a_resubscribe(site: Path) -> None:
    old = _token(site)
    assert run(site, "unsubscribe", old, "--now", NOW, env=ENV).exit_code == 0
    back = run(site, "subscribers", "add", "reader@example.com", "--resubscribe", "--now", NOW)
    assert back.exit_code == 0, back.stderr
    stale = run(site, "unsubscribe", old, "--now", NOW, env=ENV)
    assert stale.exit_code == 1
    assert "this link is from an email sent before reader@example.com subscribed to breaking" in (
        stale.stderr
    )
    fresh = run(site, "unsubscribe", _token(site, version=2), "--now", NOW, env=ENV)
    assert fresh.exit_code == 0, fresh.stderr


def test_emails_link_to_the_web_app_with_both_tokens(site: Path) -> None:
    result = run(site, "run", "--now", NOW, env=ENV)
    assert result.exit_code == 0, result.stderr
    (email,) = outbox_messages(site / "outbox")
    unsubscribe = link_in(email, "unsubscribe")
    preferences = link_in(email, "preferences")
    assert unsubscribe.startswith("http://127.0.0.1:8080/unsubscribe/u.1.breaking.1.")
    assert preferences.startswith("http://127.0.0.1:8080/preferences/p.1.breaking.1.")
    assert email["List-Unsubscribe"].startswith(f"<{unsubscribe}>")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = email.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{preferences}"' in html and ">구독 설정</a>" in html
    done = run(site, "unsubscribe", unsubscribe, "--now", NOW, env=ENV)
    assert "unsubscribed from breaking" in done.output
    assert preferences_link  # the helper the footer link comes from


# -- the editor's side -------------------------------------------------------------------


def test_add_pending_sends_the_confirmation_and_list_shows_it(site: Path) -> None:
    added = run(
        site, "subscribers", "add", "lee@example.com", "--pending", "--newsletter", "daily",
        "--name", "이", "--now", NOW, env=ENV,
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert added.output == "lee@example.com: pending until confirmed; confirmation email sent\n"
    (email,) = outbox_messages(site / "outbox")
    assert email["To"] == "이 <lee@example.com>"
    assert link_in(email, "confirm").startswith("http://127.0.0.1:8080/confirm/c.2._.")
    listed = run(site, "subscribers", "list", "--now", NOW).output.splitlines()
    assert listed == [
        "reader@example.com\tactive\tbreaking=active daily=active\t테스트 독자",
        "lee@example.com\tpending\tdaily=pending\t이",
    ]
    status = run(site, "status").output.splitlines()
    assert status[1] == "  subscribers: active 1, pending 0, unsubscribed 0, bounced 0, removed 0"
    daily = status.index("daily (뉴스다오 데일리, schedule '0 7 * * *')")
    assert status[daily + 1] == (
        "  subscribers: active 1, pending 1, unsubscribed 0, bounced 0, removed 0"
    )


def test_add_pending_needs_web(site: Path) -> None:
    path = site / "publisher.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n# The subscriber web app")], encoding="utf-8")
    refused = run(site, "subscribers", "add", "a@example.com", "--pending", env=ENV)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: --pending needs [web] in the config")


def test_export_neutralises_formulas_and_import_reads_them_back(site: Path) -> None:
    for address, name in (
        ("a@example.com", '=HYPERLINK("http://evil.example/","click")'),
        ("b@example.com", "+821012345678"),
        ("c@example.com", "-Kim"),
        ("d@example.com", "@SUM(1+1)"),
        ("e@example.com", "\tTab"),
        ("=cmd@example.com", "Normal"),
        ("'-x@example.com", "'=keep"),  # a value that does start with '
        ("f@example.com", "''+two"),
    ):
        assert run(site, "subscribers", "add", address, "--name", name, "--now", NOW).exit_code == 0
    exported = run(site, "subscribers", "export", "--now", NOW).output
    rows = list(csv.reader(io.StringIO(exported)))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    names = {row[0]: row[1] for row in rows[1:]}
    assert names["a@example.com"] == '\'=HYPERLINK("http://evil.example/","click")'
    assert "'=cmd@example.com" in names
    (site / "people.csv").write_text(exported, encoding="utf-8")
    other = site / "other"
    other.mkdir()
    shutil.copy(site / "publisher.toml", other / "publisher.toml")
    for folder in ("content", "email_templates"):
        shutil.copytree(site / folder, other / folder)
    imported = run(other, "subscribers", "import", str(site / "people.csv"), "--now", NOW)
    assert imported.exit_code == 0, imported.stderr
    with Store.open(other / "state" / "publisher.sqlite3") as store:
        back = {s.email: s.name for s in table.every(store)}
    assert back["a@example.com"] == '=HYPERLINK("http://evil.example/","click")'
    assert back["=cmd@example.com"] == "Normal"
    assert (back["'-x@example.com"], back["f@example.com"]) == ("'=keep", "''+two")
    assert back["e@example.com"] == "Tab"  # cells are stripped on import, as before


# -- a state file from before the web app ------------------------------------------------

_OLD_SCHEMA = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
    display_email TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'unsubscribed', 'removed', 'bounced')),
    created TEXT NOT NULL, changed TEXT NOT NULL, reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE subscriptions (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    newsletter_id TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, newsletter_id)
) WITHOUT ROWID;
INSERT INTO subscribers VALUES (1, 'kim@example.com', 'kim@example.com', 'kim@example.com',
    '김', 'active', '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00', '');
INSERT INTO subscribers VALUES (2, 'lee@example.com', 'lee@example.com', 'lee@example.com',
    '', 'unsubscribed', '2024-01-01T00:00:00+00:00', '2024-02-01T00:00:00+00:00', 'link');
INSERT INTO subscriptions VALUES (1, '*'), (2, 'daily');
"""


def test_a_state_file_from_before_is_migrated_keeping_every_row(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(_OLD_SCHEMA)
    conn.close()
    with Store.open(path) as store:
        kim = table.by_id(store, 1)
        lee = table.by_id(store, 2)
        assert kim is not None and lee is not None
        assert (kim.name, kim.status, kim.receives("breaking"), kim.confirmed) == (
            "김",
            "active",
            True,
            None,
        )
        assert (lee.status, lee.newsletters, lee.receives("daily")) == (
            "unsubscribed",
            ("daily",),
            False,
        )
        assert kim.subscription("daily").version == 1  # type: ignore[union-attr]
        with store.transaction():
            table.set_status(store, 1, "pending", T0)  # the new status is allowed
        assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with Store.open(path) as again:  # opening again changes nothing
        assert [s.status for s in table.every(again)] == ["pending", "unsubscribed"]


# -- publisher serve ---------------------------------------------------------------------


def test_serve_runs_in_the_foreground_and_stops_cleanly_on_sigterm(site: Path) -> None:
    with bound_socket() as probe:
        port = probe.getsockname()[1]
    # base_url names the port the server listens on (the example's is 8080).
    edit(site, 'base_url = "http://127.0.0.1:8080/"', f'base_url = "http://127.0.0.1:{port}/"')
    proc = subprocess.Popen(
        publisher_command("-c", str(site / "publisher.toml"), "serve", "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **ENV},
        text=True,
    )  # fmt: skip
    try:
        health = None
        for _ in range(200):
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert health is not None and health.status_code == 200
        page = requests.get(f"http://127.0.0.1:{port}/subscribe", timeout=5)
        assert page.status_code == 200 and "뉴스다오 속보" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err == f"serving http://127.0.0.1:{port}/ on http://127.0.0.1:{port}/\nstopped\n"
    assert "Traceback" not in err
