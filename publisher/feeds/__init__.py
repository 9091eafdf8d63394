"""Atom, RSS and JSON feeds, site-wide and per category, from the indexed posts.

`build_feeds` chooses the posts of each feed (`model`), skips the files whose inputs and
on-disk state match the last build's (`fingerprint`), cleans and renders each remaining
post once in every configured format (`render`: `items`, `clean`, `xmlfeeds`, `jsonfeed`),
puts each feed's document together around its posts' entries and writes only the files
whose bytes changed (`output`), so a run with nothing new touches nothing and WebSub
hears only of real changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from publisher.config import Config
from publisher.content.post import Post
from publisher.errors import FeedError, Problem
from publisher.feeds.fingerprint import Checked, Fingerprints, stamp
from publisher.feeds.jsonfeed import render_json
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
    select_posts,
)
from publisher.feeds.output import discovery_snippet, put_all, stylesheet_bytes
from publisher.feeds.render import render_posts
from publisher.feeds.xmlfeeds import render_atom, render_rss
from publisher.gcpause import gc_paused

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
    with gc_paused():
        return _build(config, posts, dry_run=dry_run)


def _build(config: Config, posts: Sequence[Post], *, dry_run: bool) -> FeedReport:
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
        changed_flags = put_all(to_write, dry_run=dry_run)
    except OSError as e:
        raise FeedError(
            f"{out}: cannot write the feeds ({e}): check [feeds] output_dir and its permissions"
        ) from e

    changed = {path for (path, _), did in zip(to_write, changed_flags, strict=True) if did}
    if not dry_run:
        for file, key, _ in rendered:
            left = stamp(out / file.path)
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
    stale = [(plan, [(f, k) for f, k, fresh in files if not fresh]) for plan, files in checked]
    # Cleaning and rendering posts is the costly part: once per post, in every format, and
    # only for the feeds to render; each feed then splices its posts' entries.
    shown = {post.id: post for plan, files in stale if files for post in plan.posts}
    posts = render_posts(config, selection, list(shown.values()))
    renderers: dict[Format, Callable[[Feed, Mapping[str, bytes]], bytes]] = {
        "atom": render_atom,
        "rss": render_rss,
        "json": render_json,
    }
    rendered: list[tuple[FeedFile, str, bytes]] = []
    for plan, files in stale:
        if files:
            feed = make_feed(config, plan, [posts.items[post.id] for post in plan.posts])
            rendered.extend(
                (file, key, renderers[file.format](feed, posts.entries[file.format]))
                for file, key in files
            )
    return rendered


__all__ = ["FeedReport", "build_feeds", "category_slug"]
