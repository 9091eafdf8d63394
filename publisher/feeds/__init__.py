"""Atom, RSS and JSON feeds, site-wide and per category, from the indexed posts.

`build_feeds` chooses the posts of each feed (`model`), skips the files whose inputs and
on-disk state match the last build's (`fingerprint`), cleans each remaining post once
(`clean`), renders the rest in every configured format (`xmlfeeds`, `jsonfeed`) and writes
only the files whose bytes changed (`output`), so a run with nothing new touches nothing and
WebSub hears only of real changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from publisher.config import Config
from publisher.content.post import Post
from publisher.errors import FeedError, Problem
from publisher.feeds.fingerprint import Fingerprints, Stamp, stamp
from publisher.feeds.jsonfeed import JsonItems
from publisher.feeds.model import (
    STYLESHEET_NAME,
    Feed,
    FeedFile,
    Format,
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
    xml = XmlEntries()  # an entry shown in several feeds is rendered once
    renderers: dict[Format, Callable[[Feed], bytes]] = {
        "atom": xml.render_atom,
        "rss": xml.render_rss,
        "json": JsonItems().render_json,
    }
    checked = [(plan, prints.check(selection, plan)) for plan in selection.feeds]
    # Cleaning is the costly part: once per post, and only for the feeds to render.
    stale = {
        post.id: post
        for plan, files in checked
        if not all(fresh for _, _, fresh in files)
        for post in plan.posts
    }
    items = make_items(config, selection, stale.values())
    files: list[tuple[FeedFile, str, bytes | None]] = []  # None: left as the last build left it
    for plan, plan_files in checked:
        feed: Feed | None = None
        for file, key, fresh in plan_files:
            if fresh:
                files.append((file, key, None))
                continue
            if feed is None:
                feed = make_feed(config, plan, [items[post.id] for post in plan.posts])
            files.append((file, key, renderers[file.format](feed)))
    extras: list[tuple[Path, bytes]] = []
    if config.feeds.stylesheet:
        extras.append((out / STYLESHEET_NAME, stylesheet_bytes()))
    if config.feeds.discovery_name:
        snippet = discovery_snippet(feed_title(config, ""), feed_files(config, ""))
        extras.append((out / config.feeds.discovery_name, snippet))

    try:
        # Each write waits on fsync, which releases the GIL: a few at once keep the disk busy.
        with ThreadPoolExecutor(max_workers=8) as pool:
            done = list(
                pool.map(
                    lambda f: None if f[2] is None else _put(out / f[0].path, f[2], dry_run), files
                )
            )
            extras_done = list(pool.map(lambda f: _put(f[0], f[1], dry_run), extras))
    except OSError as e:
        raise FeedError(
            f"{out}: cannot write the feeds ({e}): check [feeds] output_dir and its permissions"
        ) from e

    written: list[Path] = []
    unchanged: list[Path] = []
    changed_urls: list[str] = []
    for (file, key, _), result in zip(files, done, strict=True):
        if result is not None and result[1] is not None:
            prints.record(file, key, result[1])
        if result is not None and result[0]:
            written.append(out / file.path)
            changed_urls.append(file.url)
        else:
            unchanged.append(out / file.path)
    for (path, _), (changed, _) in zip(extras, extras_done, strict=True):
        (written if changed else unchanged).append(path)
    if not dry_run:
        prints.save()
    log.info(
        "feeds: %d written, %d unchanged (%d feeds)%s",
        len(written),
        len(unchanged),
        len(selection.feeds),
        " (dry run)" if dry_run else "",
    )
    return FeedReport(
        written=tuple(written),
        unchanged=tuple(unchanged),
        changed_urls=tuple(changed_urls),
        problems=selection.problems,
        feeds=len(selection.feeds),
        items=sum(len(plan.posts) for plan in selection.feeds),
    )


def _put(path: Path, data: bytes, dry_run: bool) -> tuple[bool, Stamp | None]:
    """Whether `path` changed (or would), and its stamp as left (None in a dry run)."""
    changed = put(path, data, dry_run=dry_run)
    return changed, None if dry_run else stamp(path)


__all__ = ["FeedReport", "build_feeds", "category_slug"]
