"""Render and write the feeds a build must write, split over two processes for large builds.

A first build of a large site renders hundreds of posts, puts dozens of documents together
and fsyncs a file for each: each feed independent of the others. With at least
`PARALLEL_MIN` posts to render and `parallel.available()` processes, the feeds are split
in groups that share as few posts as possible; the posts several groups show are rendered
first, then each group is rendered and written in its own process (`parallel.map_split`).
Only the list of files written comes back. The bytes are the same either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from publisher import parallel
from publisher.config import Config
from publisher.content.post import Post
from publisher.feeds.jsonfeed import render_json
from publisher.feeds.model import Feed, FeedFile, FeedPlan, Format, Selection, make_feed
from publisher.feeds.output import put_all
from publisher.feeds.render import NOTHING, Rendered, render_posts
from publisher.feeds.xmlfeeds import render_atom, render_rss
from publisher.inputs import Stamp, stamp
from publisher.stopping import Stopped, shielded

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
    config: Config,
    selection: Selection,
    stale: Sequence[Stale],
    *,
    dry_run: bool,
    processes: int | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> list[Produced]:
    """Render and write (unless `dry_run`) the files of `stale`: what each became.

    `processes`: at most this many (None: as many as `parallel.available()` gives). Once
    `stop()` turns true, Stopped is raised between two posts or two feeds: the files
    written by then are whole (each batch is written shielded from a stop).
    """
    posts = {post.id for plan, _ in stale for post in plan.posts}
    count = parallel.available(processes)
    if count < 2 or len(posts) < PARALLEL_MIN or len(stale) < 2:
        return _produce(config, selection, stale, dry_run, stop=stop)
    groups = split(stale, count)
    # Posts that several groups show are rendered once, before the fork: all inherit them.
    seen: set[str] = set()
    shared: dict[str, Post] = {}
    for group in groups:
        ids = {p.id: p for plan, _ in group for p in plan.posts}
        shared.update((i, p) for i, p in ids.items() if i in seen)
        seen.update(ids)
    rendered = render_posts(config, selection, list(shared.values()), stop)
    log.debug("feeds: %d groups of feeds, %d posts rendered for several", len(groups), len(shared))

    def produce(group: Sequence[Stale]) -> list[Produced]:
        return _produce(config, selection, group, dry_run, rendered, stop)

    done = parallel.map_split(produce, groups, processes=count)
    return [produced for group in done for produced in group]


def _produce(
    config: Config,
    selection: Selection,
    stale: Sequence[Stale],
    dry_run: bool,
    rendered: Rendered = NOTHING,
    stop: Callable[[], bool] = lambda: False,
) -> list[Produced]:
    # Cleaning and rendering posts is the costly part: once per post (`rendered` holds those
    # already done), in every format, and only for the feeds to write; each feed then
    # splices its posts' entries.
    shown = {p.id: p for plan, _ in stale for p in plan.posts if p.id not in rendered.items}
    posts = rendered | render_posts(config, selection, list(shown.values()), stop)
    files: list[tuple[FeedFile, str, bytes]] = []
    for plan, to_write in stale:
        if stop():
            raise Stopped
        feed = make_feed(config, plan, [posts.items[post.id] for post in plan.posts])
        files.extend(
            (file, key, _RENDERERS[file.format](feed, posts.entries[file.format]))
            for file, key in to_write
        )
    out = config.feeds.output_dir
    with shielded():  # every file whole, every temporary file gone
        changed = put_all([(out / file.path, data) for file, _, data in files], dry_run=dry_run)
    return [
        (file, key, did, None if dry_run else stamp(out / file.path))
        for (file, key, _), did in zip(files, changed, strict=True)
    ]


def split(stale: Sequence[Stale], count: int = 2) -> list[list[Stale]]:
    """`count` groups of feeds with about as many posts each and as few posts in several."""
    groups: list[list[Stale]] = [[] for _ in range(count)]
    posts: list[set[str]] = [set() for _ in range(count)]
    # Largest feeds first, each to the group it grows least (the smaller group on a tie).
    for feed in sorted(stale, key=lambda f: len(f[0].posts), reverse=True):
        ids = {post.id for post in feed[0].posts}
        i = min(range(count), key=lambda g: (len(posts[g] | ids), len(posts[g])))
        groups[i].append(feed)
        posts[i].update(ids)
    return [g for g in groups if g]
