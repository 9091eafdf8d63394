"""One run at a time: an advisory lock on a file next to the state file.

The lock is `fcntl.flock` on an open file, so the kernel drops it when the process dies
(SIGKILL included): a crashed run never leaves a stale lock behind. The file itself stays;
deleting it would let two runs lock two different files. Nothing is written to it, so
a run with nothing to do changes no file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.errors import StoreError


def lock_path(store_path: Path) -> Path:
    """Where the run lock for this state file lives."""
    return store_path.with_name(store_path.name + ".lock")


@contextmanager
def run_lock(store_path: Path) -> Iterator[bool]:
    """Hold the run lock for the block; yields False (holding nothing) when another run has it."""
    path = lock_path(store_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            if not path.exists():
                raise
            # A read-only disk: flock needs no write access, and the run can still build the
            # feeds elsewhere (the state file's own trouble is reported by the store).
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise StoreError(
            f"{path}: cannot open the run lock ({e}): check that the folder of [store] path "
            "is writable"
        ) from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
