"""SIGTERM (and Ctrl-C) end a real `publisher run` within two seconds at each stage: reading
posts, writing feeds (with a forked helper), rendering emails, sending them. The lock is
released, the state file is consistent, no file is left half-written, and the next run
finishes the work."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import lxml.etree
import pytest
from delivery_helpers import (
    RUN_AT,
    SECRET_ENV,
    address,
    journal_counts,
    make_site,
    publisher_command,
    run_publisher,
)
from smtp_server import SmtpServer

from publisher.lock import run_lock

LATER = "2024-06-19T02:01:00+00:00"
CATEGORIES = [f"분류{n}" for n in range(12)]
PARAGRAPH = (
    "북한과 러시아가 평양에서 열린 정상회담을 통해 *새로운* 협정을 체결했습니다. "
    "[관련 기사](/news/related/)와 **분석**을 함께 읽어 보세요. `코드`와 _강조_도 있습니다.\n\n"
)


def write_corpus(content: Path, count: int) -> None:
    """`count` Markdown posts a day before the run (too old to be announced), in categories."""
    for n in range(count):
        (content / f"2024-06-18-corpus-{n:05d}.md").write_text(
            f"---\ntitle: 자료 {n}\ndate: 2024-06-18 {n % 24:02d}:{n % 60:02d}:00 +0900\n"
            f"categories: [{CATEGORIES[n % len(CATEGORIES)]}]\n---\n" + PARAGRAPH * 12,
            encoding="utf-8",
        )


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    """`publisher -vv ARGS` in a session of its own (to find its helpers afterwards)."""
    return subprocess.Popen(
        publisher_command("-c", str(config), "-vv", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **SECRET_ENV},
        start_new_session=True,
    )


def wait_for_line(proc: subprocess.Popen[str], marker: str) -> list[str]:
    """The lines the process logs up to the first holding `marker` (the stage it is in)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"the run ended before {marker!r}: {''.join(seen)}")


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test, killed (with their session) if still alive at its end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def stop_within_two_seconds(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Send `sig` and wait for the process to end: at most two seconds. Its stderr."""
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=2)  # TimeoutExpired: the run did not stop in time
    return err


def assert_left_clean(root: Path, proc: subprocess.Popen[str]) -> None:
    """The run ended by itself, released the lock, left a consistent state file, no
    temporary or half-written file, and no helper process behind."""
    assert proc.returncode == 0
    state = root / "state" / "publisher.sqlite3"
    with run_lock(state) as held:
        assert held
    if state.exists():
        with sqlite3.connect(state) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert sorted(root.rglob("*.tmp")) == []
    outbox_tmp = root / "outbox" / "tmp"
    assert not outbox_tmp.exists() or list(outbox_tmp.iterdir()) == []
    for path in (root / "public").rglob("*.xml"):
        lxml.etree.parse(str(path))  # every feed file whole
    for path in (root / "public").rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
    helpers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == proc.pid and fields[0] != "Z":  # the session's process group
            helpers.append(stat.parent.name)
    assert helpers == []


def finish(config: Path) -> None:
    """The next run does the rest: everything published, each subscriber mailed once."""
    again = run_publisher(config, "run", "--now", LATER)
    assert again.returncode == 0, again.stderr


def test_sigterm_while_reading_posts(tmp_path: Path, stopped: list[subprocess.Popen[str]]) -> None:
    config = make_site(tmp_path, subscribers=2)
    write_corpus(tmp_path / "content", 3000)
    proc = start(config, "run", "--now", RUN_AT)
    stopped.append(proc)
    wait_for_line(proc, "indexing: 3002 files to read")
    err = stop_within_two_seconds(proc)
    assert "stopped: the rest is left for the next run" in err
    assert_left_clean(tmp_path, proc)
    assert not (tmp_path / "public").exists()  # nothing is written before the posts are read
    finish(config)
    assert journal_counts(config) == {"sent": 2}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_stop_while_writing_feeds(
    tmp_path: Path, stopped: list[subprocess.Popen[str]], sig: int
) -> None:
    config = make_site(tmp_path, subscribers=2)
    write_corpus(tmp_path / "content", 3000)
    first = run_publisher(config, "run", "--now", RUN_AT)  # the posts are read and cached
    assert first.returncode == 0, first.stderr
    # Every feed now shows every post: the next build renders all 3,002 again.
    config.write_text(config.read_text(encoding="utf-8") + "\n[feeds]\nlimit = 5000\n")
    proc = start(config, "run", "--now", LATER)
    stopped.append(proc)
    wait_for_line(proc, "feeds: rendering")
    err = stop_within_two_seconds(proc, sig)
    assert "stopped: the rest is left for the next run" in err
    assert "feeds: " not in err  # the build did not finish
    assert_left_clean(tmp_path, proc)
    finish(config)
    site = lxml.etree.parse(str(tmp_path / "public" / "atom.xml")).getroot()
    assert len(site.findall("{http://www.w3.org/2005/Atom}entry")) == 3002


def test_sigterm_while_rendering_emails(
    tmp_path: Path, stopped: list[subprocess.Popen[str]]
) -> None:
    many = "".join(
        f'\n[[newsletters]]\nid = "n{n}"\nname = "뉴스레터 {n}"\nschedule = "* * * * *"\n'
        'sender = "뉴스다오 <news@newsdao.kr>"\n'
        for n in range(60)
    )
    config = make_site(tmp_path, subscribers=1, posts=6, extra=many)
    proc = start(config, "run", "--now", RUN_AT)
    stopped.append(proc)
    wait_for_line(proc, "n2-")  # the third new issue is being rendered
    err = stop_within_two_seconds(proc)
    assert "stopped: the rest is left for the next run" in err
    assert_left_clean(tmp_path, proc)
    assert journal_counts(config) == {}  # nothing recorded before every issue is rendered
    finish(config)
    assert journal_counts(config) == {"sent": 61}


def test_sigterm_while_sending(tmp_path: Path, stopped: list[subprocess.Popen[str]]) -> None:
    with SmtpServer() as server:
        # One connection: which message is in flight when the signal comes is known.
        config = make_site(
            tmp_path, subscribers=20, smtp_port=server.port, smtp="connections = 1\n"
        )
        server.hold_at(3)  # the third message arrives; its answer waits
        proc = start(config, "run", "--now", RUN_AT)
        stopped.append(proc)
        server.wait_for(3)
        threading.Timer(0.3, server.release).start()  # then the server answers
        err = stop_within_two_seconds(proc)
        assert "stopping: 17 messages left for the next run" in err
        assert_left_clean(tmp_path, proc)
        assert journal_counts(config) == {"sent": 3, "pending": 17}
        finish(config)
        assert Counter(server.recipients()) == {address(n): 1 for n in range(20)}
