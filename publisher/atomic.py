"""Write files so that a reader never sees half of one, and skip writes that change nothing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Files kept open at once by write_all_atomic.
_BATCH = 128


def write_atomic(path: Path, data: bytes) -> bool:
    """Put `data` at `path` (temporary file, fsync, rename); False when it already held it."""
    return write_all_atomic([(path, data)])[0]


def write_all_atomic(files: Sequence[tuple[Path, bytes]]) -> list[bool]:
    """Put each file's data at its path as `write_atomic` does; whether each one changed.

    In phases, so that the disk commits many files at once: every changed file is written
    to a temporary file beside it, all of them are fsynced (eight at a time: one journal
    commit carries many), renamed, and each folder is fsynced once. A reader sees every
    file whole, old or new; a crash leaves at worst a `.NAME.*.tmp` file, never half a file.
    """
    changed = [differs(path, data) for path, data in files]
    todo = [f for f, differs in zip(files, changed, strict=True) if differs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for start in range(0, len(todo), _BATCH):
            batch = todo[start : start + _BATCH]
            temps: list[tuple[int, str]] = []
            try:
                for path, data in batch:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    fd, tmp = tempfile.mkstemp(
                        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
                    )
                    temps.append((fd, tmp))
                    _write_fd(fd, data)
                    os.fchmod(fd, 0o644)
                list(pool.map(os.fsync, [fd for fd, _ in temps]))
                for (path, _), (_, tmp) in zip(batch, temps, strict=True):
                    os.replace(tmp, path)
            except BaseException:
                for _, tmp in temps:
                    Path(tmp).unlink(missing_ok=True)
                raise
            finally:
                for fd, _ in temps:
                    os.close(fd)
        list(pool.map(fsync_dir, {path.parent for path, _ in todo}))
    return changed


def differs(path: Path, data: bytes) -> bool:
    """Whether `path` is missing or holds other bytes than `data`."""
    try:
        return not (path.stat().st_size == len(data) and path.read_bytes() == data)
    except FileNotFoundError:
        return True


def _write_fd(fd: int, data: bytes) -> None:
    done = 0
    while done < len(data):
        done += os.write(fd, data[done:] if done else data)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
