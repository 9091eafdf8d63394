"""The post files indexing must read, read and settled: on both CPUs for a large batch.

`parse_files` reads, splits, loads and settles each file (`source.read_post`,
`settle.settle`) and gives back, for each, whether it could be read, its parse cache row
(`codec.encode`; None for a file that is not a published post) and its problems. A batch
of `PARALLEL_MIN` files or more (a first build) is cut in contiguous parts of about equal
bytes, one per process (`publisher.parallel.map_split`): each child sends back only its
rows and problems, and the indexer makes every post from its row (`codec.decode`), so
the posts are the same whichever process read them. Nothing here touches the store.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from publisher import parallel
from publisher.content.codec import Row, encode
from publisher.content.fields import unclear_publication
from publisher.content.files import SourceFile, open_regular
from publisher.content.settle import PostProblems, SettleContext, is_unpublished, settle
from publisher.content.source import Limits, SourceProblem, read_post
from publisher.errors import Problem
from publisher.options import Progress
from publisher.stopping import Stopped

log = logging.getLogger(__name__)

# Below this many files a second process costs more than it saves.
PARALLEL_MIN = 400
# Bytes a file costs to read and settle besides its size (opening it, YAML, settling):
# parts are cut to about equal sums of size + this.
_FILE_COST = 4096
# How many files ahead of its reading each file is opened and read into the page cache.
READ_AHEAD = 32
_ADVISE = hasattr(os, "posix_fadvise")
# How often the progress is told, in files.
_TELL_EVERY = 250


class Job(NamedTuple):
    """A file to read, and what it is settled with: its stored id (None: not seen yet) and
    the first-seen time it gets when it has none."""

    # A NamedTuple, not a dataclass: a first build makes one per file.

    source: SourceFile
    stored_id: str | None
    first_seen: datetime


Parsed = tuple[bool, Row | None, tuple[Problem, ...]]
"""(readable, the cache row or None when it is not a published post, problems)."""


def parse_files(
    jobs: Sequence[Job],
    ctx: SettleContext,
    limits: Limits,
    shown: Callable[[str], str],
    *,
    stop: Callable[[], bool],
    processes: int | None = None,
    progress: Progress | None = None,
) -> list[Parsed]:
    """Read and settle every job's file, in the order of `jobs`; split over up to
    `processes` processes (None: one per CPU) when there are many. Stopped is raised
    between two files once `stop()` turns true."""
    count = parallel.available(processes) if len(jobs) >= PARALLEL_MIN else 1
    parts = _cut(jobs, count)
    done = parallel.Tally(len(parts))
    total = len(jobs)

    def work(part: tuple[int, Sequence[Job]]) -> list[Parsed]:
        slot, part_jobs = part
        here = slot == 0  # the first part is done in this process: it tells the progress
        out: list[Parsed] = []
        with _ReadAhead(part_jobs) as ahead:
            for n, job in enumerate(part_jobs, 1):
                if stop():
                    raise Stopped  # nothing is written before every file is read
                out.append(parse_one(job, ctx, limits, shown, ahead.take()))
                if n % _TELL_EVERY == 0:
                    done.set(slot, n)
                    if here and progress is not None:
                        progress("reading posts", done.total(), total)
        done.set(slot, len(part_jobs))
        return out

    if len(parts) > 1:
        log.debug("reading %d files in %d processes", total, len(parts))
    if progress is not None and total:
        progress("reading posts", 0, total)
    results = parallel.map_split(work, list(enumerate(parts)), processes=count)
    if progress is not None and total:
        progress("reading posts", total, total)
    return [parsed for part in results for parsed in part]


def _cut(jobs: Sequence[Job], count: int) -> list[Sequence[Job]]:
    """`jobs` in `count` contiguous parts of about equal cost (at least one part)."""
    if count <= 1 or len(jobs) < count:
        return [jobs]
    costs = [job.source.size + _FILE_COST for job in jobs]
    share = sum(costs) / count
    parts: list[Sequence[Job]] = []
    start = 0
    spent = 0.0
    for i, cost in enumerate(costs):
        spent += cost
        if spent >= share * (len(parts) + 1) and len(parts) < count - 1:
            parts.append(jobs[start : i + 1])
            start = i + 1
    parts.append(jobs[start:])
    return [part for part in parts if part]


class _ReadAhead:
    """The files of `jobs` opened `READ_AHEAD` files before their turn, the kernel asked to
    read each into its page cache in the background (posix_fadvise WILLNEED).

    Files not in the page cache (a first build after a checkout or a copy, or once other
    work pushed them out: 100,000 posts are a gigabyte) are otherwise read from the disk
    one at a time, each waited for: that doubled the time of a first build. Here the disk
    has many to read at once while the files before them are parsed. On a warm cache it
    costs one system call a file.
    """

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._paths = [job.source.path for job in jobs]
        self._next = 0
        self._opened: deque[int | OSError] = deque()

    def take(self) -> int | OSError:
        """The next file, open (this process closes it), or why it could not be opened."""
        depth = READ_AHEAD if _ADVISE else 0
        while len(self._opened) <= depth and self._next < len(self._paths):
            self._opened.append(_open(self._paths[self._next]))
            self._next += 1
        return self._opened.popleft()

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._opened:
            if isinstance(fd, int):
                os.close(fd)
        self._opened.clear()


_NOTES_SHOWN = 10  # Liquid left out of one post: told up to this many times, then counted


def _open(path: str) -> int | OSError:
    try:
        fd = open_regular(path)
    except OSError as e:
        return e
    if _ADVISE:
        with contextlib.suppress(OSError):  # only advice
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    return fd


def parse_one(
    job: Job,
    ctx: SettleContext,
    limits: Limits,
    shown: Callable[[str], str],
    opened: int | OSError | None = None,
) -> Parsed:
    """Read and settle one file (`opened`: the file opened, which this closes, or why it
    could not be)."""
    source = job.source
    try:
        if isinstance(opened, OSError):
            raise opened
        raw = read_post(source, limits, opened)
    except SourceProblem as e:
        return False, None, (Problem(shown(source.rel), e.message, line=e.line),)
    except OSError as e:
        message = f"cannot read the file ({e.strerror}): check its permissions"
        return False, None, (Problem(shown(source.rel), message),)
    finally:
        if isinstance(opened, int):
            os.close(opened)
    if raw is None:
        return True, None, ()
    unclear = unclear_publication(raw.meta)
    if unclear is not None:  # held back, and read again next run
        key, message = unclear
        return False, None, (Problem(shown(source.rel), message, line=raw.line_of(key)),)
    if is_unpublished(raw.meta):
        return True, None, ()
    notes: list[tuple[int, str]] = []
    try:
        post = settle(
            raw,
            source,
            ctx,
            first_seen=job.first_seen,
            stored_id=job.stored_id,
            liquid_notes=notes,
        )
    except PostProblems as e:
        where = shown(source.rel)
        return False, None, tuple(Problem(where, m, line=n) for n, m in e.problems)
    if not notes:
        return True, encode(post), ()
    # What the post's Liquid held that publisher leaves out: said once, when the file is read,
    # the first few of them (a post of a thousand tags is not a thousand lines).
    where = shown(source.rel)
    said = [Problem(where, m, line=n, warning=True) for n, m in notes[:_NOTES_SHOWN]]
    if len(notes) > _NOTES_SHOWN:
        more = len(notes) - _NOTES_SHOWN
        said.append(
            Problem(
                where,
                f"and {more:,} more Liquid tag{'s' if more != 1 else ''} left out in the same way",
                line=notes[_NOTES_SHOWN][0],
                warning=True,
            )
        )
    return True, encode(post), tuple(said)
