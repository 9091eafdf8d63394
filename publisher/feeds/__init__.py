"""Atom, RSS and JSON feeds, site-wide and per category, from the indexed posts.

`build_feeds` chooses the posts of each feed (`model`), skips the files whose inputs and
on-disk state match the last build's (`fingerprint`), cleans each remaining post once
(`items`, `clean`), renders the rest in every configured format (`xmlfeeds`, `jsonfeed`)
and writes only the files whose bytes changed (`output`), so a run with nothing new
touches nothing and WebSub hears only of real changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from publisher.atomic import fsync_dir
from publisher.config import Config
from publisher.content.post import Post
from publisher.errors import FeedError, Problem
from publisher.feeds.fingerprint import Checked, Fingerprints, Stamp, stamp
from publisher.feeds.jsonfeed import JsonItems
from publisher.feeds.model import (
    STYLESHEET_NAME,
    Feed,
    FeedFile,
    FeedPlan,
    Format,
    Selection,
    category_slug,
    feed_files,
    feed_title,
    make_feed,
    make_items,
    select_posts,
)
from publisher.feeds.output import discovery_snippet, put, stylesheet_bytes
from publisher.feeds.xmlfeeds import XmlEntries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedReport:
    """What a feed build did: files written (or, in a dry run, that would be) and left alone."""

    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    changed_urls: tuple[str, ...]
    problems: tuple[Problem, ...]
    feeds: int = 0
    items: int = 0


def build_feeds(config: Config, posts: Sequence[Post], *, dry_run: bool = False) -> FeedReport:
    """Write every configured feed for `posts` (published, newest first); report what changed."""
    selection = select_posts(config, posts)
    prints = Fingerprints.load(config)
    out = config.feeds.output_dir
    checked = [(plan, prints.check(selection, plan)) for plan in selection.feeds]
    rendered = _render(config, selection, checked)
    extras: list[tuple[Path, bytes]] = []
    if config.feeds.stylesheet:
        extras.append((out / STYLESHEET_NAME, stylesheet_bytes()))
    if config.feeds.discovery_name:
        snippet = discovery_snippet(feed_title(config, ""), feed_files(config, ""))
        extras.append((out / config.feeds.discovery_name, snippet))
    to_write = [(out / file.path, data) for file, _, data in rendered] + extras
    try:
        # Each write waits on fsync, which releases the GIL: a few at once keep the disk busy.
        with ThreadPoolExecutor(max_workers=8) as pool:
            done = list(pool.map(lambda f: _put(f[0], f[1], dry_run), to_write))
            # One fsync per folder makes the renames in it durable.
            folders = {
                path.parent for (path, _), (did, _) in zip(to_write, done, strict=True) if did
            }
            list(pool.map(fsync_dir, folders if not dry_run else ()))
    except OSError as e:
        raise FeedError(
            f"{out}: cannot write the feeds ({e}): check [feeds] output_dir and its permissions"
        ) from e

    changed = {path for (path, _), (did, _) in zip(to_write, done, strict=True) if did}
    for (file, key, _), (_, left) in zip(rendered, done[: len(rendered)], strict=True):
        if left is not None:
            prints.record(file, key, left)
    if not dry_run:
        prints.save()
    # Every file in the order written: each feed's formats, then the files beside them.
    paths = [(out / file.path, file.url) for _, files in checked for file, _, _ in files]
    paths += [(path, "") for path, _ in extras]
    written = tuple(path for path, _ in paths if path in changed)
    log.info(
        "feeds: %d written, %d unchanged (%d feeds)%s",
        len(written),
        len(paths) - len(written),
        len(selection.feeds),
        " (dry run)" if dry_run else "",
    )
    return FeedReport(
        written=written,
        unchanged=tuple(path for path, _ in paths if path not in changed),
        changed_urls=tuple(url for path, url in paths if url and path in changed),
        problems=selection.problems,
        feeds=len(selection.feeds),
        items=sum(len(plan.posts) for plan in selection.feeds),
    )


def _render(
    config: Config, selection: Selection, checked: list[tuple[FeedPlan, list[Checked]]]
) -> list[tuple[FeedFile, str, bytes]]:
    """The bytes of every file that is not known to be unchanged, with its fingerprint."""
    xml = XmlEntries()  # an entry shown in several feeds is rendered once
    renderers: dict[Format, Callable[[Feed], bytes]] = {
        "atom": xml.render_atom,
        "rss": xml.render_rss,
        "json": JsonItems().render_json,
    }
    stale = [(plan, [(f, k) for f, k, fresh in files if not fresh]) for plan, files in checked]
    # Cleaning is the costly part: once per post, and only for the feeds to render.
    shown = {post.id: post for plan, files in stale if files for post in plan.posts}
    items = make_items(config, selection, shown.values())
    rendered: list[tuple[FeedFile, str, bytes]] = []
    for plan, files in stale:
        if files:
            feed = make_feed(config, plan, [items[post.id] for post in plan.posts])
            rendered.extend((file, key, renderers[file.format](feed)) for file, key in files)
    return rendered


def _put(path: Path, data: bytes, dry_run: bool) -> tuple[bool, Stamp | None]:
    """Whether `path` changed (or would), and its stamp as left (None in a dry run)."""
    changed = put(path, data, dry_run=dry_run)
    return changed, None if dry_run else stamp(path)


__all__ = ["FeedReport", "build_feeds", "category_slug"]
