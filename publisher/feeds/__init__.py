"""Atom, RSS and JSON feeds, site-wide and per category, from the indexed posts.

`build_feeds` plans the feeds (`model`), cleans each post once (`clean`), renders every
configured format (`xmlfeeds`, `jsonfeed`) and writes only the files whose bytes changed
(`output`), so a run with nothing new touches nothing and WebSub hears only of real changes.
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
from publisher.feeds.jsonfeed import JsonItems
from publisher.feeds.model import STYLESHEET_NAME, Feed, Format, category_slug, plan_feeds
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
    feeds, problems = plan_feeds(config, posts)
    xml = XmlEntries()  # an entry shown in several feeds is rendered once
    renderers: dict[Format, Callable[[Feed], bytes]] = {
        "atom": xml.render_atom,
        "rss": xml.render_rss,
        "json": JsonItems().render_json,
    }
    out = config.feeds.output_dir
    files: list[tuple[Path, bytes, str]] = []
    for feed in feeds:
        for file in feed.files:
            files.append((out / file.path, renderers[file.format](feed), file.url))
    extras: list[tuple[Path, bytes]] = []
    if config.feeds.stylesheet:
        extras.append((out / STYLESHEET_NAME, stylesheet_bytes()))
    if config.feeds.discovery_name:
        extras.append((out / config.feeds.discovery_name, discovery_snippet(feeds[0])))

    written: list[Path] = []
    unchanged: list[Path] = []
    changed_urls: list[str] = []
    try:
        # Each write waits on fsync, which releases the GIL: a few at once keep the disk busy.
        with ThreadPoolExecutor(max_workers=8) as pool:
            changed = list(pool.map(lambda f: put(f[0], f[1], dry_run=dry_run), files))
            extra_changed = list(pool.map(lambda f: put(f[0], f[1], dry_run=dry_run), extras))
    except OSError as e:
        raise FeedError(
            f"{out}: cannot write the feeds ({e}): check [feeds] output_dir and its permissions"
        ) from e
    for (path, _, url), did in zip(files, changed, strict=True):
        if did:
            written.append(path)
            changed_urls.append(url)
        else:
            unchanged.append(path)
    for (path, _), did in zip(extras, extra_changed, strict=True):
        (written if did else unchanged).append(path)
    log.info(
        "feeds: %d written, %d unchanged (%d feeds)%s",
        len(written),
        len(unchanged),
        len(feeds),
        " (dry run)" if dry_run else "",
    )
    return FeedReport(
        written=tuple(written),
        unchanged=tuple(unchanged),
        changed_urls=tuple(changed_urls),
        problems=problems,
        feeds=len(feeds),
        items=sum(len(f.items) for f in feeds),
    )


__all__ = ["FeedReport", "build_feeds", "category_slug"]
