"""Work split over processes: the one place publisher forks, for any stage that wants both cores.

`map_split(work, parts)` does `work(part)` for every part at once: the first part in this
process, each other one in a child forked for it, so a child starts with everything this
process holds (posts, config) and nothing is pickled on the way in; only each child's
result comes back, pickled through a pipe. Results come in the order of the parts and
are the same as one process would give.

It forks only where that is safe and can pay: Linux, a process with no other thread (a
thread may hold a lock the child would wait on forever: `publisher schedule` and a web
server render in one process), and more than one CPU for this process (its affinity and a
container's CPU quota). Otherwise, or when a fork is refused, every part is done here in
turn. A child that dies or raises has its part done again here; an exception raised by
`work` here (or while waiting for a child: a stop) is raised as usual, once the children
have been ended.

Children ignore Ctrl-C (it reaches the whole process group: this process decides) and
keep this process's SIGTERM handler, so a stop ends them the way it ends this process
(see `stopping`): they clean up and exit, leaving no temporary file behind. A child whose
result is no longer wanted is sent SIGTERM, and SIGKILL if it has not ended a second
later.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import pickle
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def available(asked: int | None = None) -> int:
    """How many processes work may be split over now: 1 where forking is unsafe, else
    `asked`, or by default as many as the CPUs this process may use."""
    if not _can_fork():
        return 1
    return cpus() if asked is None else max(1, asked)


def map_split(
    work: Callable[[T], R], parts: Sequence[T], *, processes: int | None = None
) -> list[R]:
    """`work(part)` for each part, at once in up to `processes` processes (None: one per CPU
    this process may use; see `available`), the results in the order of `parts`."""
    count = available(processes)
    if count <= 1 or len(parts) <= 1:
        return [work(part) for part in parts]
    here, away = parts[: len(parts) - count + 1], parts[len(parts) - count + 1 :]
    children = [_fork(work, part) for part in away]
    try:
        results = [work(part) for part in here]
    except BaseException:
        for child in children:
            if child is not None:
                _end(child)
        raise
    try:
        for part, child in zip(away, children, strict=True):
            done = _collect(child) if child is not None else None
            results.append(work(part) if done is None else done[0])
    except BaseException:
        for left in children:
            if left is not None:
                _end(left)
        raise
    return results


class Tally:
    """Counts that the processes of one `map_split` keep, each in its own slot, and any of
    them reads: memory shared across the fork, so this process can tell how the children's
    parts advance (a progress bar). One writer per slot, so no lock: a reader may see a
    count a moment old."""

    def __init__(self, slots: int) -> None:
        self._slots = max(1, slots)
        self._memory = mmap.mmap(-1, 8 * self._slots)

    def set(self, slot: int, count: int) -> None:
        """Set the count of `slot` (the part's number)."""
        struct.pack_into("q", self._memory, 8 * slot, count)

    def total(self) -> int:
        """The sum of every slot's count."""
        return sum(struct.unpack_from(f"{self._slots}q", self._memory))


def cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a container's CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota(Path("/sys/fs/cgroup"))
    return min(count, quota) if quota is not None else count


def cgroup_cpu_quota(root: Path) -> int | None:
    """Whole CPUs a cgroup quota allows (a container started with `--cpus`); None: no quota."""
    try:  # cgroup v2: "max 100000" or "150000 100000"
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:  # cgroup v1: -1 for none
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        allowed = int(quota) // int(period)
    except ValueError:  # "max"
        return None
    return max(allowed, 1) if int(quota) > 0 else None


def _can_fork() -> bool:
    # macOS frameworks do not survive a fork; another thread may hold a lock (libxml2's,
    # logging's) that the child would wait on forever.
    return sys.platform.startswith("linux") and threading.active_count() == 1


_Child = list[int]  # [pid, the read end of its pipe], each -1 once reaped or closed


def _fork(work: Callable[[T], Any], part: T) -> _Child | None:
    """A child doing `work(part)` and writing the pickled result to a pipe; None if refused."""
    try:
        read, write = os.pipe()
    except OSError as e:
        log.debug("parallel: no pipe (%s): working here", e)
        return None
    try:
        pid = os.fork()
    except OSError as e:  # process or memory limits
        os.close(read)
        os.close(write)
        log.debug("parallel: fork refused (%s): working here", e)
        return None
    if pid == 0:  # the child: never returns
        os.close(read)
        # Ctrl-C reaches the whole process group: the parent decides how to stop. SIGTERM
        # keeps the parent's handler: a stop ends the child as cleanly as the parent.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        status = 1
        try:
            data = pickle.dumps((work(part),), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as out:
                out.write(data)
            status = 0
        except BaseException:  # the parent does this part itself
            log.debug("parallel: the child failed", exc_info=True)
        finally:
            os._exit(status)  # no atexit handlers, no buffers of the parent flushed twice
    os.close(write)
    return [pid, read]


def _collect(child: _Child) -> tuple[Any] | None:
    """The child's result (in a 1-tuple), or None when it died or failed."""
    pid, read = child
    chunks = []
    while chunk := os.read(read, 1 << 20):
        chunks.append(chunk)
    child[1] = -1
    os.close(read)
    data = b"".join(chunks)
    _, status = os.waitpid(pid, 0)
    child[0] = -1
    if status != 0 or not data:
        log.warning("parallel: a helper process failed (status %d): its part is done here", status)
        return None
    result: tuple[Any] = pickle.loads(data)  # noqa: S301 (our own child, through our own pipe)
    return result


def _end(child: _Child) -> None:
    """Stop a child whose result is no longer wanted (SIGTERM, then SIGKILL if it has not
    ended a second later), and reap it."""
    pid, read = child
    if read >= 0:
        child[1] = -1
        os.close(read)
    if pid < 0:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
