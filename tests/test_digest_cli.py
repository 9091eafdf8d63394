"""The newsletter commands on the sample site: subscribers, digest, baseline, unsubscribe."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from email_helpers import SECRET, T0

from publisher.cli import cli
from publisher.config import load_config
from publisher.newsletters.subscribers import list_subscribers
from publisher.newsletters.tokens import make_token
from publisher.options import RunOptions
from publisher.pipeline import run as run_pipeline
from publisher.store import Store

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "email"
NOW = "2024-06-19T20:00:00+09:00"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    for folder in ("content", "email_templates", "static"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "config.example.toml", tmp_path / "publisher.toml")
    return tmp_path


def run(site: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    # The secret is unset unless a test gives it, whatever the calling shell holds.
    environ: dict[str, str | None] = {"PUBLISHER_SECRET": None, **(env or {})}
    return CliRunner().invoke(
        cli, ["-c", str(site / "publisher.toml"), *args], env=environ, catch_exceptions=False
    )


def test_the_example_subscriber_is_there_and_more_can_be_added(site: Path) -> None:
    assert run(site, "subscribers", "list", "--now", NOW).output == (
        "reader@example.com\tactive\tbreaking=active daily=active\t테스트 독자\n"
    )
    added = run(
        site,
        "subscribers",
        "add",
        "Kim@Example.com",
        "--name",
        "김",
        "--newsletter",
        "breaking",
        "--now",
        NOW,
    )
    assert added.exit_code == 0
    assert added.output == "Kim@example.com: subscribed to breaking\n"
    removed = run(site, "subscribers", "remove", "kim@example.com", "--now", NOW)
    assert removed.output == "Kim@example.com: removed\n"
    refused = run(site, "subscribers", "add", "kim@example.com", "--now", NOW)
    assert refused.exit_code == 1
    assert (
        "Error: Kim@example.com is removed since 2024-06-19: pass --resubscribe" in refused.stderr
    )


def test_import_reports_bad_rows_by_line_and_export_lists_everyone(site: Path) -> None:
    result = run(
        site, "subscribers", "import", str(DATA / "subscribers-with-bad-rows.csv"), "--now", NOW
    )
    assert result.exit_code == 1
    assert "4 added, 0 updated, 3 rows not imported" in result.output
    assert (
        "subscribers-with-bad-rows.csv:3: 'not an address' is not a usable email address"
        in result.stderr
    )
    assert "subscribers-with-bad-rows.csv:5: unknown newsletter 'weekly'" in result.stderr
    exported = run(site, "subscribers", "export", "--now", NOW).output.splitlines()
    assert exported[0] == "email,name,status,newsletters,created,changed,left"
    assert len(exported) == 1 + 5
    written = run(site, "subscribers", "export", "-o", str(site / "out.csv"), "--now", NOW)
    assert written.exit_code == 0
    assert (site / "out.csv").read_text(encoding="utf-8").splitlines() == exported
    nowhere = site / "publisher.toml" / "x.csv"  # under a file: no folder can be made
    failed = run(site, "subscribers", "export", "-o", str(nowhere), "--now", NOW)
    assert failed.exit_code == 1
    assert failed.stderr.startswith(f"Error: {nowhere}: cannot write the file (")
    assert failed.stderr.endswith("): choose a writable path\n")


def test_digest_preview_writes_what_would_go_out(site: Path) -> None:
    preview = site / "preview.html"
    dry = run(site, "digest", "--preview", str(preview), "--dry-run", "--now", NOW)
    assert dry.exit_code == 0, dry.output
    assert not preview.exists()
    result = run(site, "digest", "breaking", "--preview", str(preview), "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "'[속보] 북·러 침략 시 상호 지원 협정 체결 외 1건': 2 posts" in result.output
    assert "to 1 subscribers" in result.output
    html = preview.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "reader@example.com" in html
    assert "http://127.0.0.1:8080/unsubscribe/preview" in html
    assert "http://127.0.0.1:8080/preferences/preview" in html
    assert "__publisher" not in html
    # A preview records nothing: the same issue is still due.
    assert "breaking-" in run(site, "digest", "--dry-run", "--now", NOW).output


def test_baseline_marks_everything_announced(site: Path) -> None:
    result = run(site, "baseline", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == "2 posts marked announced by 2 newsletters (4 new marks); nothing was sent\n"
    )
    later = "2024-06-19T20:10:00+09:00"
    assert run(site, "digest", "--dry-run", "--now", later).output.startswith("nothing to send at")


def test_an_unknown_newsletter_is_an_error(site: Path) -> None:
    result = run(site, "digest", "weekly", "--now", NOW)
    assert result.exit_code == 1
    assert "Error: no newsletter has the id 'weekly' (known: 'breaking', 'daily')" in result.stderr


def test_unsubscribe_checks_the_token(site: Path) -> None:
    run(site, "subscribers", "list", "--now", NOW)
    token = make_token(
        SECRET, 1, "breaking", T0, load_config(site / "publisher.toml").email.token_max_age
    )
    missing = run(site, "unsubscribe", token, "--now", NOW)
    assert missing.exit_code == 1
    assert (
        "Error: no secret for unsubscribe links: the environment variable PUBLISHER_SECRET"
        in missing.stderr
    )
    env = {"PUBLISHER_SECRET": SECRET.decode()}
    forged = run(site, "unsubscribe", token.replace("1.", "2.", 1), "--now", NOW, env=env)
    assert forged.exit_code == 1
    assert "signature does not match" in forged.stderr
    done = run(site, "unsubscribe", token, "--now", NOW, env=env)
    assert done.exit_code == 0, done.stderr
    assert done.output == "reader@example.com: unsubscribed from breaking (still receives daily)\n"
    with Store.open(site / "state" / "publisher.sqlite3") as store:
        (sub,) = list_subscribers(store)
    assert (sub.status, sub.state("breaking"), sub.state("daily")) == (
        "active",
        "unsubscribed",
        "active",
    )
    # The config's subscriber is not added back on the next command.
    assert (
        "breaking=unsubscribed daily=active"
        in run(site, "subscribers", "list", "--now", NOW).output
    )


def test_a_missing_labels_file_is_reported_by_check_and_run(site: Path) -> None:
    labels = site / "email_templates" / "labels.j2"
    labels.unlink()
    missing = (
        f"{labels}: the email template is missing (needed by labels.j2): add it, or copy it "
        "from publisher's email_templates/"
    )
    check = run(site, "check", "--now", NOW)  # a traceback would raise here
    assert check.exit_code == 1
    assert check.stderr.splitlines()[0] == missing
    # `publisher run` calls this: no issue is rendered, nothing is queued or sent.
    config = load_config(site / "publisher.toml")
    report = run_pipeline(
        config,
        datetime.fromisoformat(NOW),
        RunOptions(environ={"PUBLISHER_SECRET": SECRET.decode()}),
    )
    assert (report.issues, report.queued, report.sent) == ((), 0, 0)
    assert [str(p) for p in report.problems] == [
        f"newsletter 'breaking': cannot load the email labels 'labels.j2'\n{missing}"
    ]
    assert not list((site / "outbox").glob("*/*"))
