"""The indexing stage: the post files -> settled posts (or the cache) -> IndexResult."""

from __future__ import annotations

import hashlib
import logging
import operator
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from publisher import __version__
from publisher.config import Config
from publisher.content.codec import LAYOUT, Row, decode, loader
from publisher.content.files import SourceFile, discover, escaped
from publisher.content.parse import Job, parse_files, parse_one
from publisher.content.post import Post
from publisher.content.settle import SettleContext, settle_context
from publisher.content.source import Limits
from publisher.errors import ContentError, Problem
from publisher.gcpause import gc_paused
from publisher.options import DEFAULTS, RunOptions
from publisher.store import Store
from publisher.store.posts import (
    CacheEntry,
    Identity,
    add_identities,
    load_cache,
    load_identities,
    save_cache,
    update_urls,
)

__all__ = ["IndexResult", "Post", "index_posts", "index_site"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexResult:
    """Published posts newest first, posts dated in the future, and every problem found."""

    posts: tuple[Post, ...]
    future: tuple[Post, ...]
    problems: tuple[Problem, ...]
    parsed: int  # files actually read this run (the rest came from the cache)


def index_site(config: Config, now: datetime, options: RunOptions = DEFAULTS) -> IndexResult:
    """Open the configured store and index the content folder at `now`.

    A dry run on a site without a state file indexes against an empty store in memory, so
    it creates no file. Stopped is raised between two files once `options.stop()` turns
    true, before anything is written. Many files to read are split over processes (see
    `parse`); `options.progress` hears how the reading advances.
    """
    path = config.store.path
    dry = options.dry_run and not path.exists()
    with Store.in_memory(path) if dry else Store.open(path) as store:
        return index_posts(config, store, now, options)


def index_posts(
    config: Config, store: Store, now: datetime, options: RunOptions = DEFAULTS
) -> IndexResult:
    """Index the content folder; a dry run reads the store but writes nothing to it."""
    with gc_paused():
        return _index(config, store, now, options)


def _index(config: Config, store: Store, now: datetime, options: RunOptions) -> IndexResult:
    drafts, dry_run, stop = options.drafts, options.dry_run, options.stop
    processes, progress = options.processes, options.progress
    content_dir = config.content.dir
    if not content_dir.is_dir():
        raise ContentError(
            f"{content_dir}: the content folder does not exist: create it or fix [content] dir"
        )
    now = now.replace(microsecond=0)  # first-seen dates are stored to the second
    ctx, problems = settle_context(config)
    limits = Limits(config.content.max_front_matter_bytes, config.content.max_body_bytes)
    fingerprint = _fingerprint(content_dir, ctx, limits)
    shown = _Shown(config.path.parent, content_dir)
    files, unreadable = discover(content_dir, drafts=drafts)
    for rel, message in unreadable:
        problems.append(Problem(shown(rel), message))
    cache = load_cache(store, fingerprint)

    # Unchanged files (same size and modification time) come from the cache; the others are
    # read again, and decide the order of `settled` below.
    hits: list[Row] = []
    misses: list[SourceFile] = []
    for source in files:
        hit = cache.get(source.rel)
        if hit is None or hit[0] != source.size or hit[1] != source.mtime_ns:
            misses.append(source)
        elif hit[2] is not None:
            hits.append(hit[2])
    load = loader(ctx.liquid)
    settled = {post.source: post for post in decode(hits, load)}

    identities = load_identities(store, [f.rel for f in misses]) if misses else {}
    # Posts first seen in one run are given one second each, back from `now` in path
    # order: a dateless archive keeps the order ties would give it, no two posts share a
    # date (feeds must not), and none is dated later than the run that saw it. Each file
    # not seen before takes its second before it is read (a draft or a broken file too),
    # so a file's date does not depend on the files before it, whichever process reads it.
    jobs: list[Job] = []
    unseen = 0
    for source in misses:
        known = identities.get(source.rel)
        if known is None:
            jobs.append(Job(source, None, now - timedelta(seconds=unseen)))
            unseen += 1
        else:
            jobs.append(Job(source, known.id, known.first_seen))
    if misses:
        log.info("indexing: %d files to read", len(misses))
    parsed_files = parse_files(
        jobs, ctx, limits, shown, stop=stop, processes=processes, progress=progress
    )
    fresh: dict[str, CacheEntry] = {}
    read: list[tuple[Job, Row]] = []
    for job, (readable, row, found) in zip(jobs, parsed_files, strict=True):
        problems.extend(found)
        if not readable:
            continue  # a broken file is read again next run, never cached
        source = job.source
        fresh[source.rel] = (source.size, source.mtime_ns, row)
        if row is not None:
            read.append((job, row))
    new_ids: list[Identity] = []
    moved: dict[str, tuple[str, str]] = {}  # source -> (the URL known, the URL now)
    for (job, _), post in zip(read, decode([row for _, row in read], load), strict=True):
        settled[post.source] = post
        known = identities.get(post.source)
        if known is None:
            new_ids.append(Identity(post.source, post.id, post.url, job.first_seen))
        elif known.url != post.url:
            moved[post.source] = (known.url, post.url)
    parsed = len(fresh)

    # Path order (discover sorts) decides who keeps a twin URL, and breaks ties in the order:
    # a stable sort, even reversed, keeps equal dates in it.
    in_order = list(settled.values())
    if misses:
        in_order.sort(key=_by_source)
    twins: list[Problem] = []
    posts = _without_duplicates(in_order, shown, twins)
    left_out: set[str] = set()
    if twins:
        # A post left out is not seen yet: no identity, URL or cache entry is kept for it, so
        # once it gets a URL of its own it is first seen, with that URL as its id.
        left_out = settled.keys() - {p.source for p in posts}
        new_ids = [i for i in new_ids if i.source not in left_out]
        moved = {s: urls for s, urls in moved.items() if s not in left_out}
        fresh = {s: e for s, e in fresh.items() if s not in left_out}
    for rel, (old_url, new_url) in moved.items():
        problems.append(
            Problem(
                shown(rel),
                f"the URL changed from {old_url} to {new_url}: the post keeps its id, "
                "so readers will not see it twice; give the old URL a redirect",
                warning=True,
            )
        )
    problems += twins
    # What a post goes out without (its image, a title) is said on every run it is there.
    problems.extend(
        Problem(shown(p.source), message, line=line) for p in posts for line, message in p.notes
    )

    if not dry_run:
        # Two overlapping runs may both see a new post: the store keeps the first one's values.
        stored = add_identities(store, new_ids)
        replaced: dict[str, Post] = {}
        for ident in new_ids:
            winner = stored.get(ident.source)
            if winner is not None and winner != ident:
                source = next(f for f in files if f.rel == ident.source)
                job = Job(source, winner.id, winner.first_seen)
                _, row, found = parse_one(job, ctx, limits, shown)
                problems.extend(found)
                if row is not None:
                    replaced[source.rel] = decode([row], load)[0]
                    fresh[source.rel] = (source.size, source.mtime_ns, row)
        if replaced:
            posts = [replaced.get(p.source, p) for p in posts]
        update_urls(store, {rel: urls[1] for rel, urls in moved.items()})
        present = {f.rel for f in files}
        # A cached twin left out this run is dropped too: it is read again until it is kept.
        gone = cache.keys() - present
        if left_out:
            gone |= cache.keys() & left_out
        if fresh or gone:
            kept = {s: e for s, e in cache.items() if s in present and s not in gone}
            save_cache(store, fingerprint, kept | fresh, changed=fresh.keys() | gone)

    posts.sort(key=_by_date, reverse=True)
    # Posts dated after `now` are the first ones.
    first = next((i for i, p in enumerate(posts) if p.date <= now), len(posts))
    published, future = tuple(posts[first:]), tuple(posts[:first])
    log.debug(
        "indexed %d posts (%d read, %d from cache)",
        len(posts),
        parsed,
        len(settled) - parsed,
    )
    return IndexResult(published, future, tuple(problems), parsed=parsed)


_by_date = operator.attrgetter("date")
_by_source = operator.attrgetter("source")


class _Shown:
    """A post file as the user knows it: relative to the config file's folder when inside,
    escaped where it does not print (`files.escaped`)."""

    def __init__(self, base: Path, content_dir: Path) -> None:
        self.content_dir = content_dir
        try:
            inside = content_dir.relative_to(base).as_posix()
        except ValueError:
            self.prefix: str | None = None  # the content folder is elsewhere: its full path
        else:
            self.prefix = "" if inside == "." else inside + "/"

    def __call__(self, rel: str) -> str:
        if self.prefix is not None:
            return escaped(self.prefix + rel)
        return escaped(str(self.content_dir / rel))


def _without_duplicates(posts: list[Post], shown: _Shown, problems: list[Problem]) -> list[Post]:
    """Keep the first post (by path) of any that share an id or URL; report the others."""
    by_id: dict[str, Post] = {}
    by_url: dict[str, Post] = {}
    kept: list[Post] = []
    for post in posts:
        twin = by_id.get(post.id) or by_url.get(post.url)
        if twin is not None:
            what = "URL" if twin.url == post.url else "id"
            problems.append(
                Problem(
                    shown(post.source),
                    f"has the same {what} as {shown(twin.source)} "
                    f"({post.id if what == 'id' else post.url}): give one of them another "
                    "'permalink' or 'id'; it is left out until then",
                )
            )
            continue
        by_id[post.id] = post
        by_url[post.url] = post
        kept.append(post)
    return kept


def _fingerprint(content_dir: Path, ctx: SettleContext, limits: Limits) -> str:
    """Everything a cached Post depends on besides its own file."""
    parts = [__version__, str(LAYOUT), sys.version, repr(ctx), repr(limits), str(content_dir)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
