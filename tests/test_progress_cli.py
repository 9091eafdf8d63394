"""Long work shows its progress on a terminal, and never where cron would mail it."""

from __future__ import annotations

import os
import pty
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from delivery_helpers import RUN_AT, SECRET_ENV, make_site, publisher_command, run_publisher

# More posts than a first build reads before it shows a bar ("reading posts": 2,000).
POSTS = 2100


def on_a_terminal(*args: str) -> tuple[int, bytes]:
    """Run publisher with its stderr on a pseudo-terminal: its exit status, what it showed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            publisher_command(*args),
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
        proc.wait(timeout=120)
    finally:
        os.close(leader)
    return proc.returncode, shown


def test_a_first_build_of_a_large_site_shows_its_reading_on_a_terminal(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=0, posts=POSTS, dated=datetime(2024, 6, 1, tzinfo=UTC))
    status, shown = on_a_terminal("-c", str(config), "build", "--now", RUN_AT)
    assert status == 0, shown
    assert b"reading posts" in shown, shown
    assert b"100%" in shown, shown
    assert (tmp_path / "public" / "atom.xml").exists()


def test_a_first_run_under_cron_prints_no_progress(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=0, posts=POSTS, dated=datetime(2024, 6, 1, tzinfo=UTC))
    # Cron gives a pipe (its mail) for stdout and stderr: nothing is printed at all.
    result = run_publisher(config, "run", "--now", RUN_AT)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (tmp_path / "public" / "atom.xml").exists()


def test_a_warm_build_shows_no_bar(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=0, posts=POSTS, dated=datetime(2024, 6, 1, tzinfo=UTC))
    run_publisher(config, "build", "--now", RUN_AT)
    status, shown = on_a_terminal("-c", str(config), "build", "--now", RUN_AT)
    assert (status, shown) == (0, b"")
