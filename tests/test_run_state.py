"""`publisher run` when the state file is busy, full or read-only: it waits, or says so once and
builds the feeds, and the next run carries on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_helpers import (
    RUN_AT,
    address,
    in_flight,
    journal_counts,
    make_site,
    recovered_warning,
    run_publisher,
    start_publisher,
)
from smtp_server import SmtpServer

LATER = "2024-06-19T02:01:00+00:00"
MUCH_LATER = "2024-06-19T02:10:00+00:00"

# Another process holding the state file's write lock, as a large import or the web app can.
LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE subscribers SET name = name")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""

NEW_POST = """---
title: "속보 9: 새 소식"
date: 2024-06-19 01:30:00 +0000
categories: [News]
---
<p>새 소식입니다.</p>
"""


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as s:
        yield s


def test_a_run_waits_for_a_write_lock_held_45_seconds(tmp_path: Path, server: SmtpServer) -> None:
    people = 8
    config = make_site(
        tmp_path, subscribers=people, smtp_port=server.port, smtp="connections = 1\n"
    )
    server.hold_at(3)
    run = start_publisher(config, "run", "--now", RUN_AT)
    server.wait_for(3)  # mid-send: the run must record the 3rd answer next
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(tmp_path / "state" / "publisher.sqlite3")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert locker.stdout is not None
    assert locker.stdout.readline() == "locked\n"
    server.release()
    time.sleep(45)  # as long as the import held it in the report that led to issue 11
    waiting = run.poll()
    locker.communicate("commit\n", timeout=30)
    out, err = run.communicate(timeout=120)
    assert waiting is None  # still there, waiting for the lock, not given up
    assert (run.returncode, out, err) == (0, "", "")
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}
    assert journal_counts(config) == {"sent": people}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/state on a 2 MB tmpfs of its own, which a test can fill."""
    folder = tmp_path / "state"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("making a small filesystem needs root (mount -t tmpfs -o size=2m)")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file in `folder` until its disk has no byte left; returns it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_mid_send_stops_sending_and_the_next_run_carries_on(
    tmp_path: Path, server: SmtpServer, small_disk: Path
) -> None:
    people = 30
    config = make_site(
        tmp_path, subscribers=people, smtp_port=server.port, smtp="connections = 2\n"
    )
    server.hold_at(5)
    first = start_publisher(config, "run", "--now", RUN_AT)
    server.wait_for(5)
    filler = fill(small_disk)
    server.release()
    _, stopped = first.communicate(timeout=120)
    sent_before = Counter(server.recipients())

    (tmp_path / "content" / "2024-06-19-post-9.html").write_text(NEW_POST, encoding="utf-8")
    still_full = run_publisher(config, "run", "--now", LATER)
    atom = (tmp_path / "public" / "atom.xml").read_text(encoding="utf-8")
    sent_while_full = Counter(server.recipients())

    filler.unlink()
    left_sending = in_flight(config)
    resumed = run_publisher(config, "run", "--now", MUCH_LATER)

    state = tmp_path / "state" / "publisher.sqlite3"
    assert first.returncode == 1
    (line,) = stopped.splitlines()  # one line, no traceback
    assert re.fullmatch(
        rf"\[store\] path: {re.escape(str(state))}: cannot record in the state file "
        rf"\((database or disk is full|disk I/O error)\): the disk that holds "
        rf"{re.escape(str(small_disk))} is full: free space on it; the next run carries on; "
        "sending stopped",
        line,
    )
    assert sum(sent_before.values()) < people
    # while full: one error naming the file, the feeds built all the same, nothing sent
    assert still_full.returncode == 1
    (error,) = still_full.stderr.splitlines()  # one line, and nothing else
    assert re.fullmatch(
        rf"\[store\] path: {re.escape(str(state))}: cannot (open|record in) the state file "
        rf"\((disk I/O error|database or disk is full)\): the disk that holds "
        rf"{re.escape(str(small_disk))} is full: free space on it; the next run carries on; "
        "the feeds are built, and no email is sent",
        error,
    )
    assert "속보 9: 새 소식" in atom
    assert sent_while_full == sent_before
    # space freed: the rows left sending go again, and the new post's issue goes out
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == (recovered_warning(len(left_sending)) if left_sending else "")
    arrivals = Counter(server.recipients())
    assert set(arrivals) == {address(n) for n in range(people)}
    assert {a for a, n in arrivals.items() if n > 2} <= left_sending  # two issues each
    assert journal_counts(config) == {"sent": 2 * people}


def test_a_read_only_state_disk_builds_the_feeds_and_sends_nothing(
    tmp_path: Path, small_disk: Path
) -> None:
    config = make_site(tmp_path, subscribers=3)
    first = run_publisher(config, "run", "--now", RUN_AT)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    (tmp_path / "content" / "2024-06-19-post-9.html").write_text(NEW_POST, encoding="utf-8")
    read_only = run_publisher(config, "run", "--now", LATER)
    outbox = len(list((tmp_path / "outbox" / "new").iterdir()))
    subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    writable = run_publisher(config, "-v", "run", "--now", MUCH_LATER)

    state = tmp_path / "state" / "publisher.sqlite3"
    assert (first.returncode, first.stderr) == (0, "")
    assert read_only.returncode == 1
    assert read_only.stderr == (
        f"[store] path: {state}: cannot open the state file (unable to open database file): "
        "make the file and its folder writable by this user (is the disk mounted read-only?); "
        "the next run carries on; the feeds are built, and no email is sent\n"
    )
    assert "속보 9: 새 소식" in (tmp_path / "public" / "atom.xml").read_text(encoding="utf-8")
    assert outbox == 3  # the first issue's, and nothing more
    assert (writable.returncode, writable.stderr) == (0, "")
    assert writable.stdout == "3 posts, 0 feed files written, 1 new issue, 3 emails sent\n"


def test_answers_a_full_disk_kept_from_the_record_are_not_counted_sent(
    tmp_path: Path, server: SmtpServer, small_disk: Path
) -> None:
    people = 3
    config = make_site(
        tmp_path, subscribers=people, smtp_port=server.port, smtp="connections = 1\n"
    )
    server.hold_at(people)  # the last message arrives; its answer waits
    run = start_publisher(config, "run", "--now", RUN_AT, "-v")
    server.wait_for(people)
    fill(small_disk)
    server.release()
    out, err = run.communicate(timeout=120)

    assert run.returncode == 1
    assert "sending stopped" in err
    summary = (out + err).splitlines()
    # the first two were recorded sent; the last one's answer could not be: the next run
    # finds it left 'sending' and counts it unknown, and so does this summary
    assert [line for line in summary if " emails sent" in line or " email sent" in line] == [
        "2 posts, 9 feed files written, 1 new issue, 2 emails sent, 1 unknown"
    ]


def test_a_bounce_the_full_disk_kept_from_the_record_is_not_told(
    tmp_path: Path, server: SmtpServer, small_disk: Path
) -> None:
    people = 3
    server.refuse(address(1), "550 5.1.1 no such user")
    config = make_site(
        tmp_path, subscribers=people, smtp_port=server.port, smtp="connections = 1\n"
    )
    server.hold_at(2)  # reader2's message arrives; its answer (which settles reader1) waits
    run = start_publisher(config, "run", "--now", RUN_AT)
    server.wait_for(2)
    fill(small_disk)
    server.release()
    _, err = run.communicate(timeout=120)

    assert run.returncode == 1
    assert "sending stopped" in err
    # reader1's bounce was never recorded: it is not said to be marked bounced
    assert "reader1@example.com" not in err
