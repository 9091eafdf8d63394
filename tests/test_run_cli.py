"""`publisher run` and `publisher status` as cron sees them: quiet, -v, --dry-run, exit codes."""

from __future__ import annotations

import json
import mailbox
import os
import pty
import subprocess
from email.utils import parseaddr
from pathlib import Path

from delivery_helpers import (
    RUN_AT,
    SECRET_ENV,
    address,
    make_site,
    publisher_command,
    run_publisher,
)

from publisher.lock import run_lock

LATER = "2024-06-19T02:01:00+00:00"


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and modification time."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            stat = (Path(folder) / name).stat()
            found[str(Path(folder, name).relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


def test_a_run_sends_then_the_next_one_is_silent_and_writes_nothing(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    first = run_publisher(config, "run", "--now", RUN_AT)
    before = snapshot(tmp_path)
    quiet = run_publisher(config, "run", "--now", LATER)
    after = snapshot(tmp_path)

    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    assert sorted(parseaddr(m["To"])[1] for m in box) == [address(n) for n in range(3)]
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert after == before


def test_verbose_prints_one_summary_line(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    result = run_publisher(config, "-v", "run", "--now", RUN_AT)
    nothing = run_publisher(config, "-v", "run", "--now", LATER)
    assert result.returncode == 0
    assert result.stdout == "2 posts, 9 feed files written, 1 new issue, 3 emails sent\n"
    assert nothing.stdout == "2 posts, 0 feed files written, 0 new issues, 0 emails sent\n"


def test_a_dry_run_reports_and_writes_records_and_sends_nothing(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    rehearsal = run_publisher(config, "run", "--dry-run", "--now", RUN_AT)
    real = run_publisher(config, "-v", "run", "--now", RUN_AT)
    assert rehearsal.returncode == 0, rehearsal.stderr
    assert rehearsal.stdout == "2 posts, 9 feed files to write, 1 new issue, 3 emails to send\n"
    # everything the rehearsal announced is still there to do
    assert real.stdout == "2 posts, 9 feed files written, 1 new issue, 3 emails sent\n"


def test_a_dry_run_leaves_no_outbox_and_no_journal(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    run_publisher(config, "run", "--dry-run", "--now", RUN_AT)
    status = run_publisher(config, "status")
    assert not (tmp_path / "outbox").exists()
    assert not (tmp_path / "public").exists()
    assert "no issues yet" in status.stdout


def test_problems_go_to_stderr_with_exit_1_after_the_good_work(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    result = run_publisher(config, "run", "--now", RUN_AT, env={"PUBLISHER_SECRET": ""})
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "[email] secret_env: no secret for unsubscribe links: the environment variable "
        "PUBLISHER_SECRET (named by [email] secret_env) is not set"
    )
    assert (tmp_path / "public" / "atom.xml").exists()  # the feeds were still built
    assert not (tmp_path / "outbox").exists()
    # nothing was announced: with the secret back, the issue goes out
    again = run_publisher(config, "-v", "run", "--now", LATER)
    # The feeds page now lists the newsletter's archive, which its first issue began.
    assert again.stdout == "2 posts, 1 feed file written, 1 new issue, 3 emails sent\n"


def test_a_run_finding_the_lock_held_does_nothing(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    with run_lock(tmp_path / "state" / "publisher.sqlite3") as held:
        assert held
        locked = run_publisher(config, "-v", "run", "--now", RUN_AT)
    assert locked.returncode == 0
    assert locked.stdout == ""
    assert locked.stderr.startswith("another publisher run holds ")
    assert not (tmp_path / "public").exists()


def test_status_counts_each_issue_by_outcome(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=3)
    run_publisher(config, "run", "--now", RUN_AT)
    result = run_publisher(config, "status")
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert lines[0] == "news (속보, schedule '* * * * *')"
    assert lines[1] == ("  subscribers: active 3, pending 0, unsubscribed 0, bounced 0, removed 0")
    assert lines[2].startswith("  2024-06-19 11:00  news-")
    assert lines[2].endswith(
        "  2 posts  sent 3  pending 0  deferred 0  unknown 0  failed 0  bounced 0 (hard 0, soft 0)"
    )
    assert len(lines) == 3  # no server problem to show


def test_a_long_send_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=25)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            publisher_command("-c", str(config), "run", "--now", RUN_AT),
            stdout=subprocess.DEVNULL,
            stderr=follower,
            env={**os.environ, **SECRET_ENV},
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is done with it
                break
            if not chunk:
                break
            shown += chunk
        proc.wait(timeout=60)
    finally:
        os.close(leader)
    assert proc.returncode == 0
    assert b"sending" in shown, shown
    assert b"100%" in shown, shown


def test_status_as_json(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=2)
    empty = run_publisher(config, "status", "--json")
    assert not (tmp_path / "state" / "publisher.sqlite3").exists()  # status created nothing
    run_publisher(config, "run", "--now", RUN_AT)
    result = run_publisher(config, "status", "--json")
    assert json.loads(empty.stdout) == {"news": {"issues": [], "last_problem": None}}
    (news,) = json.loads(result.stdout).values()
    (issue,) = news["issues"]
    assert news["last_problem"] is None
    assert issue["created"] == "2024-06-19T02:00:00+00:00"
    assert len(issue["posts"]) == 2
    assert {k: v for k, v in issue.items() if isinstance(v, int)} == {
        "more": 0,
        "sent": 2,
        "pending": 0,
        "deferred": 0,
        "sending": 0,
        "unknown": 0,
        "failed": 0,
        "bounced": 0,
        "bounced_hard": 0,
        "bounced_soft": 0,
        "cancelled": 0,
    }
    assert issue["next_attempt"] is None
