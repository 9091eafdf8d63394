"""Each post a build shows, cleaned once and rendered once in every format, on two CPUs.

A first build of a large site cleans and renders hundreds of posts: most of its time, and
each post independent of the others. With at least `PARALLEL_MIN` posts to render, a
machine with two CPUs or more and `fork` (Linux), a forked child renders every other post
while this process renders the rest, and leaves its share pickled in shared memory. The
child only computes: it opens, writes and sends nothing else, and should it die, this
process renders its share too. Output is the same bytes either way.
"""

from __future__ import annotations

import logging
import mmap
import multiprocessing
import os
import pickle
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from publisher.config import Config
from publisher.content.post import Post
from publisher.feeds.items import FeedItem, make_items
from publisher.feeds.jsonfeed import json_items
from publisher.feeds.model import Format, Selection
from publisher.feeds.xmlfeeds import xml_entries
from publisher.gcpause import gc_paused

log = logging.getLogger(__name__)

# Below this a child costs more than it saves (forking, pickling the results back).
PARALLEL_MIN = 200
# Room reserved for the child's share, per post: ten times what a post of 3-8 KB takes
# (the pickle of its item and three entries); a larger share comes back through a pipe.
_BUFFER_PER_POST = 256 * 1024
# The child's part of the posts (see _in_two).
_CHILD_SHARE = 0.46


@dataclass(frozen=True)
class Rendered:
    """Shown posts as feed items (by post id) and their entries (by format, then item id)."""

    items: Mapping[str, FeedItem]
    entries: Mapping[Format, Mapping[str, bytes]]

    def __or__(self, other: Rendered) -> Rendered:
        formats = self.entries.keys() | other.entries.keys()
        entries = {f: {**self.entries.get(f, {}), **other.entries.get(f, {})} for f in formats}
        return Rendered({**self.items, **other.items}, entries)


def render_posts(
    config: Config, selection: Selection, posts: Sequence[Post], *, processes: int | None = None
) -> Rendered:
    """Clean and render `posts` in every configured format; `processes` 1 or 2 (None: decide)."""
    formats: tuple[Format, ...] = tuple(dict.fromkeys(config.feeds.formats))
    if processes is None:
        processes = 2 if len(posts) >= PARALLEL_MIN and _can_fork() and _cpus() > 1 else 1
    if processes > 1 and len(posts) > 1:
        return _in_two(config, selection, posts, formats)
    return _render(config, selection, posts, formats)


def _render(
    config: Config, selection: Selection, posts: Sequence[Post], formats: tuple[Format, ...]
) -> Rendered:
    # One stage at a time over all the posts, not every stage per post: the same code and
    # data stay in the CPU's caches (a fifth faster on the 10,000-post corpus).
    items = make_items(config, posts, selection.lengths, selection.shifts)
    entries: dict[Format, Mapping[str, bytes]] = dict(xml_entries(items, formats))
    if "json" in formats:
        entries["json"] = json_items(items)
    return Rendered({p.id: i for p, i in zip(posts, items, strict=True)}, entries)


Job = tuple[Config, Selection, Sequence[Post], tuple[Format, ...]]

# What the child renders, and where it leaves the result: set in the child alone, from the
# job and the buffer its parent forked it with.
_job: tuple[Job, mmap.mmap] | None = None


def _adopt(job: Job, buffer: mmap.mmap) -> None:
    global _job  # one job per child process, which exits after it
    _job = (job, buffer)


def _render_adopted() -> int | bytes:
    """Render the job and pickle it into the shared buffer (its length), or return the pickle."""
    assert _job is not None
    job, buffer = _job
    share = _render(*job)
    try:
        pickle.dump(share, buffer, protocol=pickle.HIGHEST_PROTOCOL)  # written in place
    except ValueError:  # the buffer is full
        return pickle.dumps(share)  # back through the executor's pipe: slower, but whole
    return buffer.tell()


def _in_two(
    config: Config, selection: Selection, posts: Sequence[Post], formats: tuple[Format, ...]
) -> Rendered:
    # Every other post, as posts of all sizes alternate; the child a few less, as it starts
    # later and pickles its share.
    count = round(len(posts) * _CHILD_SHARE)
    theirs = posts[1::2][:count]
    ours = [*posts[0::2], *posts[1::2][count:]]
    context = multiprocessing.get_context("fork")
    # Forked, the child inherits the job (posts, config) as it is: nothing is pickled on the
    # way in. Its share comes back through memory both processes map (a pipe moves the
    # 10 MB of a 10,000-post site's share at a third of the speed); only the pages written
    # are ever allocated. A collection while the child lives would write to every object and
    # so copy every page the two processes share; the build makes no cycles to collect.
    job = (config, selection, theirs, formats)
    try:
        buffer = mmap.mmap(-1, _BUFFER_PER_POST * len(theirs))
    except OSError as e:  # no memory to map: no room for a child either
        log.debug("feeds: no shared memory for a helper process (%s): rendering here", e)
        return _render(config, selection, posts, formats)
    with buffer, gc_paused():
        pool = ProcessPoolExecutor(
            1, mp_context=context, initializer=_adopt, initargs=(job, buffer)
        )
        try:
            future = pool.submit(_render_adopted)
        except OSError as e:  # fork refused: process or memory limits
            pool.shutdown(wait=False)
            log.debug("feeds: cannot start a helper process (%s): rendering here", e)
            return _render(config, selection, posts, formats)
        try:
            mine = _render(config, selection, ours, formats)
            result = future.result()
        except BrokenProcessPool as e:
            log.warning("feeds: the helper process died (%s): rendering its share here", e)
            return mine | _render(config, selection, theirs, formats)
        finally:
            pool.shutdown(wait=False)  # the child is done: nothing to wait for but its exit
        # Our own child's output, either way.
        share = pickle.loads(result) if isinstance(result, bytes) else pickle.load(buffer)  # noqa: S301
    if not isinstance(share, Rendered):
        raise TypeError(f"the feed renderer's child process returned {type(share).__name__}")
    return mine | share


def _can_fork() -> bool:
    # Only Linux forks safely by default (macOS frameworks do not survive a fork).
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may run on
    except AttributeError:
        return os.cpu_count() or 1
