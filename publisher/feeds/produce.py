"""Render and write the feeds a build must write: in two processes at once for large builds.

A first build of a large site renders hundreds of posts, puts dozens of documents together
and fsyncs a file for each: each feed independent of the others. With at least
`PARALLEL_MIN` posts to render, two CPUs or more (affinity and container quota), `fork`
(Linux) and no other thread running, the feeds are split in two groups that share as few
posts as possible; the posts both show are rendered first, then a forked child renders and
writes one group while this process does the other. Only the list of files written comes
back. Should the child die, this process does its group too; files it already wrote are
then found unchanged. The bytes are the same either way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from publisher.config import Config
from publisher.feeds.fingerprint import Stamp, stamp
from publisher.feeds.jsonfeed import render_json
from publisher.feeds.model import Feed, FeedFile, FeedPlan, Format, Selection, make_feed
from publisher.feeds.output import put_all
from publisher.feeds.render import NOTHING, Rendered, render_posts
from publisher.feeds.xmlfeeds import render_atom, render_rss

log = logging.getLogger(__name__)

# Below this a child costs more than it saves.
PARALLEL_MIN = 200

Stale = tuple[FeedPlan, list[tuple[FeedFile, str]]]  # a feed and its files to write, each
# with the fingerprint of its inputs
Produced = tuple[FeedFile, str, bool, Stamp | None]  # a file, its fingerprint, whether it
# changed (or would, in a dry run), and its stamp as left (None in a dry run)

_RENDERERS: dict[Format, Callable[[Feed, Mapping[str, bytes]], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}


def produce_feeds(
    config: Config, selection: Selection, stale: Sequence[Stale], *, dry_run: bool
) -> list[Produced]:
    """Render and write (unless `dry_run`) the files of `stale`: what each became."""
    posts = {post.id for plan, _ in stale for post in plan.posts}
    if len(posts) >= PARALLEL_MIN and len(stale) > 1 and _can_fork() and _cpus() > 1:
        return _in_two(config, selection, stale, dry_run)
    return _produce(config, selection, stale, dry_run)


def _produce(
    config: Config,
    selection: Selection,
    stale: Sequence[Stale],
    dry_run: bool,
    rendered: Rendered = NOTHING,
) -> list[Produced]:
    # Cleaning and rendering posts is the costly part: once per post (`rendered` holds those
    # already done), in every format, and only for the feeds to write; each feed then
    # splices its posts' entries.
    shown = {p.id: p for plan, _ in stale for p in plan.posts if p.id not in rendered.items}
    posts = rendered | render_posts(config, selection, list(shown.values()))
    files: list[tuple[FeedFile, str, bytes]] = []
    for plan, to_write in stale:
        feed = make_feed(config, plan, [posts.items[post.id] for post in plan.posts])
        files.extend(
            (file, key, _RENDERERS[file.format](feed, posts.entries[file.format]))
            for file, key in to_write
        )
    out = config.feeds.output_dir
    changed = put_all([(out / file.path, data) for file, _, data in files], dry_run=dry_run)
    return [
        (file, key, did, None if dry_run else stamp(out / file.path))
        for (file, key, _), did in zip(files, changed, strict=True)
    ]


def split(stale: Sequence[Stale]) -> tuple[list[Stale], list[Stale]]:
    """Two groups of feeds with about as many posts each and as few posts in both."""
    groups: tuple[list[Stale], list[Stale]] = ([], [])
    posts: tuple[set[str], set[str]] = (set(), set())
    # Largest feeds first, each to the group it grows least (the smaller group on a tie).
    for feed in sorted(stale, key=lambda f: len(f[0].posts), reverse=True):
        ids = {post.id for post in feed[0].posts}
        i = min((0, 1), key=lambda g: (len(posts[g] | ids), len(posts[g])))
        groups[i].append(feed)
        posts[i].update(ids)
    return groups


# The child's group: set in the child alone, from the job its parent forked it with.
Job = tuple[Config, Selection, Sequence[Stale], bool, Rendered]
_job: Job | None = None


def _adopt(job: Job) -> None:
    global _job  # one job per child process, which exits after it
    _job = job


def _produce_adopted() -> list[Produced]:
    assert _job is not None
    return _produce(*_job)


def _in_two(
    config: Config, selection: Selection, stale: Sequence[Stale], dry_run: bool
) -> list[Produced]:
    ours, theirs = split(stale)
    # Posts that both groups show are rendered once, before the fork: both inherit them.
    in_ours = {post.id for plan, _ in ours for post in plan.posts}
    both = {p.id: p for plan, _ in theirs for p in plan.posts if p.id in in_ours}
    rendered = render_posts(config, selection, list(both.values()))
    log.debug(
        "feeds: %d feeds written here, %d by a child process, %d posts rendered for both",
        len(ours),
        len(theirs),
        len(both),
    )
    # Forked, the child inherits the job (posts, config) as it is: nothing is pickled on the
    # way in, and only the short list of files comes back. (The garbage collector is paused
    # by build_feeds: a collection would write to every object and so copy every page the
    # two processes share.)
    started = _start((config, selection, theirs, dry_run, rendered))
    if started is None:
        return _produce(config, selection, stale, dry_run, rendered)
    pool, future = started
    try:
        mine = _produce(config, selection, ours, dry_run, rendered)
        try:
            theirs_done = future.result()
        except BrokenProcessPool as e:
            log.warning("feeds: the helper process died (%s): writing its feeds here", e)
            theirs_done = _produce(config, selection, theirs, dry_run, rendered)
    finally:
        pool.shutdown()  # and the executor's thread with it: the next build may fork again
    return mine + theirs_done


def _start(job: Job) -> tuple[ProcessPoolExecutor, Future[list[Produced]]] | None:
    """A forked child at work on `job`; None when this system cannot start one."""
    context = multiprocessing.get_context("fork")
    try:
        pool = ProcessPoolExecutor(1, mp_context=context, initializer=_adopt, initargs=(job,))
    except OSError as e:  # no semaphores (a container without /dev/shm)
        log.debug("feeds: cannot start a helper process (%s): writing every feed here", e)
        return None
    try:
        return pool, pool.submit(_produce_adopted)
    except OSError as e:  # fork refused: process or memory limits
        pool.shutdown()
        log.debug("feeds: cannot start a helper process (%s): writing every feed here", e)
        return None


def _can_fork() -> bool:
    # Only Linux forks safely by default (macOS frameworks do not survive a fork), and only
    # a process with one thread: another thread may hold a lock (libxml2's, say) that the
    # child would wait on forever. `publisher run` and `build` have one; an application
    # that calls build_feeds from a thread pool (or `publisher schedule`) renders here.
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def _cpus() -> int:
    """The CPUs this process may use: its affinity, capped by a container's CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:
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
