"""The outbox under a crash: a run killed mid-send loses nothing and the next one adds no copy."""

from __future__ import annotations

import email
import os
import signal
import time
from collections import Counter
from email import policy
from pathlib import Path

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

from publisher.delivery import OUTBOX_BATCH

PEOPLE = 300
LATER = "2024-06-19T11:10:00+09:00"


def wait_for_files(folder: Path, count: int, timeout: float = 60.0) -> None:
    """Until `folder` holds at least `count` files (polling: the writer is another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.is_dir() and sum(1 for _ in folder.iterdir()) >= count:
            return
        time.sleep(0.005)
    raise AssertionError(f"{folder} never held {count} files")


def test_a_run_killed_mid_send_is_completed_by_the_next_one(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=PEOPLE)
    new = tmp_path / "outbox" / "new"
    proc = start_publisher(config, "run", "--now", RUN_AT)
    wait_for_files(new, 20)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    written_before = sum(1 for _ in new.iterdir())
    assert written_before < PEOPLE, "the run finished before it was killed: kill it sooner"
    left_sending = in_flight(config)

    resumed = run_publisher(config, "run", "--now", LATER)

    # at most one batch was being written; its files are written again under the same names
    assert len(left_sending) <= OUTBOX_BATCH
    assert resumed.returncode == 0
    assert resumed.stderr == (recovered_warning(len(left_sending)) if left_sending else "")
    recipients = Counter()
    for path in new.iterdir():
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        recipients[message["To"].addresses[0].addr_spec] += 1
    assert recipients == {address(n): 1 for n in range(PEOPLE)}
    assert journal_counts(config) == {"sent": PEOPLE}


def test_an_unusable_outbox_is_named_and_nothing_is_recorded(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=2)
    (tmp_path / "outbox").write_text("a file where the outbox folder should be")
    result = run_publisher(config, "run", "--now", RUN_AT)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"[delivery] outbox_dir: {tmp_path / 'outbox'}: cannot create or write the outbox "
        "there: choose a writable folder"
    )
    assert journal_counts(config) == {}  # the issue waits for a run that can deliver it
