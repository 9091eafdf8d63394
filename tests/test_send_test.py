"""`publisher send-test` and `publisher digest` without --now: an editor sees an issue before
the readers do, and nothing is recorded."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from email_helpers import SECRET, parse
from smtp_server import SmtpServer

from publisher.cli import cli
from publisher.config import load_config
from publisher.newsletters.tokens import verify_token
from publisher.store import Store
from publisher.store import announced as announced_store

ROOT = Path(__file__).parent.parent
NOW = "2024-06-19T20:00:00+09:00"
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    for folder in ("content", "email_templates"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "config.example.toml", tmp_path / "publisher.toml")
    return tmp_path


def use_smtp(site: Path, port: int) -> None:
    config = site / "publisher.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('method = "outbox"', 'method = "smtp"')
    text = text.replace('host = "localhost"\n', 'host = "127.0.0.1"\n')
    text = text.replace("port = 587\n", f"port = {port}\n")
    text = text.replace('security = "starttls"', 'security = "none"')
    config.write_text(text, encoding="utf-8")


def run(site: Path, *args: str, secret: bool = True) -> Result:
    environ = {"PUBLISHER_SECRET": SECRET.decode() if secret else None}
    return CliRunner().invoke(
        cli, ["-c", str(site / "publisher.toml"), *args], env=environ, catch_exceptions=False
    )


def test_send_test_sends_the_next_issue_through_smtp_and_records_nothing(site: Path) -> None:
    with SmtpServer() as server:
        use_smtp(site, server.port)
        result = run(site, "send-test", "breaking", "--to", "editor@example.com", "--now", NOW)
        assert result.exit_code == 0, result.output + result.stderr
        (arrival,) = server.wait_for(1)
    assert arrival.recipients == ("editor@example.com",)
    assert arrival.sender == "news@newsdao.kr"
    message = parse(arrival.data)
    assert message["To"] == "editor@example.com"
    assert message["Subject"] == "[속보] 북·러 침략 시 상호 지원 협정 체결 외 1건"
    assert message["Message-ID"] == "<breaking-test-20240619200000.0@newsdao.kr>"
    text = message.get_body(("plain",)).get_content()
    assert "전쟁상태 군사원조 김정은·푸틴 더 끈끈한 동맹" in text
    assert "받는 사람: editor@example.com" in text
    # The unsubscribe link is signed as the readers' are, for nobody on the list.
    token = re.search(r"(?:token=|unsubscribe/)([\w.-]+)", message["List-Unsubscribe"])
    assert token is not None
    config = load_config(site / "publisher.toml")
    claims = verify_token(SECRET, token[1], datetime.fromisoformat(NOW))
    assert (claims.subscriber_id, claims.newsletter_id) == (0, "breaking")
    # So is the preferences link; no link leads to an archive page, since none is written.
    html = message.get_body(("html",)).get_content()
    preferences = re.findall(r'href="[^"]*/preferences/([\w.-]+)"', html)
    assert preferences and re.search(r"구독 설정: \S+/preferences/", text)
    p_claims = verify_token(SECRET, preferences[0], datetime.fromisoformat(NOW), kind="p")
    assert (p_claims.subscriber_id, p_claims.newsletter_id) == (0, "breaking")
    assert 'href=""' not in html
    assert "/archive/" not in html + text
    assert not (site / "public" / "archive").exists()
    assert result.output == (
        "sent '[속보] 북·러 침략 시 상호 지원 협정 체결 외 1건' (next issue: 2 posts) "
        "to editor@example.com by smtp, as <breaking-test-20240619200000.0@newsdao.kr>\n"
    )
    # Nothing recorded: no state file was even made, and the issue is still due.
    assert not config.store.path.exists()
    assert "breaking-" in run(site, "digest", "breaking", "--dry-run", "--now", NOW).output


def test_send_test_of_one_post_goes_to_the_outbox_and_leaves_the_store_as_it_was(
    site: Path,
) -> None:
    assert run(site, "baseline", "--now", NOW).exit_code == 0
    config = load_config(site / "publisher.toml")
    with Store.open(config.store.path) as store:
        before = announced_store.announced_ids(store, "daily")
    post = site / "content" / "001_082059b6dc4458d0.txt"
    result = run(site, "send-test", "daily", "--to", "편집@example.com", "--post", str(post))
    assert result.exit_code == 1  # a Korean local part cannot be sent without SMTPUTF8
    assert "Error: --to: '편집@example.com' is not a usable email address" in result.stderr

    later = "2024-06-19T21:00:00+09:00"
    result = run(
        site,
        "send-test",
        "daily",
        "--to",
        "editor@example.com",
        "--post",
        str(post),
        "--now",
        later,
    )
    assert result.exit_code == 0, result.stderr
    assert "(post: 1 posts)" in result.output
    (eml,) = (site / "outbox" / "new").iterdir()
    assert eml.name == "daily-test-20240619210000.0.eml"
    message = parse(eml.read_bytes())
    assert message["Subject"] == "[뉴스다오 데일리] 전쟁상태 군사원조 김정은·푸틴 더 끈끈한 동맹"
    with Store.open(config.store.path) as store:
        assert announced_store.announced_ids(store, "daily") == before
        assert store.conn.execute("SELECT count(*) FROM sends").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM issues").fetchone()[0] == 0


def test_send_test_without_a_secret_warns_and_without_posts_explains(site: Path) -> None:
    result = run(site, "send-test", "--to", "editor@example.com", "--now", NOW, secret=False)
    assert result.exit_code == 0
    assert result.stderr.startswith(
        "warning: [email] secret_env PUBLISHER_SECRET: no secret for unsubscribe links"
    )
    message = parse(next((site / "outbox" / "new").iterdir()).read_bytes())
    assert "unsubscribe/test>" in message["List-Unsubscribe"]

    missing = run(site, "send-test", "--to", "editor@example.com", "--post", "nope.md")
    assert missing.exit_code == 1
    assert f"Error: {site / 'content' / 'nope.md'}: not a post publisher can show" in (
        missing.stderr
    )
    for post in (site / "content").iterdir():
        post.unlink()
    empty = run(site, "send-test", "breaking", "--to", "editor@example.com", "--now", NOW)
    assert empty.exit_code == 1
    assert empty.stderr == (
        "Error: newsletter 'breaking' has no post to show: add a post in its categories "
        "['News'], or choose one with --post FILE\n"
    )


def test_send_test_reports_a_refused_recipient(site: Path) -> None:
    with SmtpServer() as server:
        use_smtp(site, server.port)
        server.refuse("gone@example.com", "550 5.1.1 no such user")
        result = run(site, "send-test", "--to", "gone@example.com", "--now", NOW)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "550 5.1.1 no such user" in result.stderr
    assert "Traceback" not in result.stderr


def test_digest_without_now_shows_the_next_issue_with_posts_not_due_yet(site: Path) -> None:
    assert run(site, "baseline").exit_code == 0  # the sample's posts are announced
    # A post dated three days on, on a whole minute: the every-minute newsletter's next
    # issue is the one of that minute.
    when = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    (site / "content" / "scheduled.md").write_text(
        f"---\ntitle: 예약된 속보\ndate: {when.isoformat()}\ncategories: [News]\n---\n본문\n",
        encoding="utf-8",
    )
    preview = site / "next.html"
    result = run(site, "digest", "breaking", "--preview", str(preview))
    assert result.exit_code == 0, result.stderr
    at = when.astimezone(SEOUL).isoformat(sep=" ")
    assert re.fullmatch(
        rf"breaking-[0-9a-f]{{12}}: next issue at {re.escape(at)}: '\[속보\] 예약된 속보': "
        r"1 posts, [\d.]+ KB of HTML \(full\), to 1 subscribers\n  wrote .*next\.html\n",
        result.output,
    ), result.output
    assert "예약된 속보" in preview.read_text(encoding="utf-8")
    # With --now, only what is due at that moment; times in the site's zone, to the second.
    due = run(site, "digest", "breaking", "--now", "2024-06-19T11:00:00+00:00")
    assert due.output == "nothing to send at 2024-06-19 20:00:00+09:00: not due, or nothing new\n"


def test_digest_without_now_waits_for_the_next_fire(site: Path) -> None:
    # daily fires once a day, twelve hours from now (never in the minute the test runs):
    # it is due since its last fire, but posts first seen now wait for the next one.
    hour = (datetime.now(SEOUL).hour + 12) % 24
    config = site / "publisher.toml"
    text = config.read_text(encoding="utf-8").replace('"0 7 * * *"', f'"0 {hour} * * *"')
    config.write_text(text, encoding="utf-8")
    result = run(site, "digest", "daily")
    assert result.exit_code == 0, result.stderr
    found = re.fullmatch(
        r"daily-[0-9a-f]{12}: next issue at (\S+ \S+): '\[뉴스다오 데일리\] .+ 외 1건': 2 posts, "
        r"[\d.]+ KB of HTML \(full\), to 1 subscribers\n",
        result.output,
    )
    assert found is not None, result.output
    fire = datetime.fromisoformat(found[1])
    assert (fire.hour, fire.minute, fire.second) == (hour, 0, 0)
    assert fire.utcoffset() == timedelta(hours=9)
    assert timedelta(hours=11) < fire - datetime.now(UTC) <= timedelta(hours=13)
