"""Atom, RSS and JSON feeds, site-wide and per category, from the indexed posts.

`build_feeds` chooses the posts of each feed (`model`), skips the files whose inputs and
on-disk state match the last build's (`fingerprint`), and for the rest (`produce`, split
over processes for large builds by `publisher.parallel`) cleans and renders each post once
in every configured format (`render`: `items`, with `content.clean`; `xmlfeeds`,
`jsonfeed`), puts each feed's document together around its posts' entries and writes only
the files whose bytes changed (`output`), so a run with nothing new touches nothing and
WebSub (`websub`) hears only of real changes. `lengths` asks image servers for the lengths
enclosures give (once, remembered); `page` writes the feeds page for people.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.content.post import Post
from publisher.errors import FeedError, Problem
from publisher.feeds.fingerprint import Fingerprints
from publisher.feeds.lengths import ask_lengths
from publisher.feeds.model import (
    Selection,
    category_slug,
    feed_files,
    feed_title,
    select_posts,
    stylesheet_name,
)
from publisher.feeds.output import discovery_snippet, put_all
from publisher.feeds.page import LATEST, feeds_page, page_inputs, page_items, stylesheet_bytes
from publisher.gcpause import gc_paused
from publisher.inputs import stamp
from publisher.options import DEFAULTS, RunOptions
from publisher.stopping import shielded

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


def build_feeds(
    config: Config,
    posts: Sequence[Post],
    *,
    now: datetime | None = None,
    options: RunOptions = DEFAULTS,
) -> FeedReport:
    """Write every configured feed for `posts` (published, newest first); report what changed.

    `now` is when image servers are asked for lengths (`lengths`; None: only the recorded
    answers are used). A dry run writes nothing; a large build is split over processes
    (see `parallel`). Once `options.stop()` turns true, Stopped is raised between two posts
    or feeds (the files written by then are whole; the record of the build is not saved).
    """
    with gc_paused():
        return _build(config, posts, now, options)


def _build(
    config: Config, posts: Sequence[Post], now: datetime | None, options: RunOptions
) -> FeedReport:
    dry_run, processes, stop = options.dry_run, options.processes, options.stop
    selection = ask_lengths(config, select_posts(config, posts), now, dry_run=dry_run)
    prints = Fingerprints.load(config)
    out = config.feeds.output_dir
    checked = [(plan, prints.check(selection, plan)) for plan in selection.feeds]
    stale = [(plan, [(f, k) for f, k, fresh in files if not fresh]) for plan, files in checked]
    extras: list[tuple[Path, bytes]] = []
    stylesheet = stylesheet_name(config.feeds)
    if stylesheet:
        extras.append((out / stylesheet, stylesheet_bytes(config)))
    if config.feeds.discovery_name:
        snippet = discovery_snippet(feed_title(config.site.title, ""), feed_files(config, ""))
        extras.append((out / config.feeds.discovery_name, snippet))
    page = _stale_page(config, selection, prints)
    to_render = [f for f in stale if f[1]]
    if to_render:  # the renderers (feedgen, multiprocessing) load only when there is work
        from publisher.feeds.produce import produce_feeds

        log.info("feeds: rendering %d of %d feeds", len(to_render), len(stale))
    try:
        produced = (
            produce_feeds(
                config, selection, to_render, dry_run=dry_run, processes=processes, stop=stop
            )
            if to_render
            else []
        )
        beside = extras + ([(out / config.feeds.page_name, page[1])] if page else [])
        with shielded():
            beside_changed = put_all(beside, dry_run=dry_run)
    except OSError as e:
        raise FeedError(
            f"{out}: cannot write the feeds ({e}): check [feeds] output_dir and its permissions"
        ) from e

    changed = {out / file.path for file, _, did, _ in produced if did}
    changed |= {path for (path, _), did in zip(beside, beside_changed, strict=True) if did}
    for file, key, _, left in produced:
        if left is not None:
            prints.record(str(file.path), key, left)
    if page and not dry_run:
        left = stamp(out / config.feeds.page_name)
        if left is not None:
            prints.record(config.feeds.page_name, page[0], left)
    if not dry_run:
        prints.save()
    # Every file in the order written: each feed's formats, then the files beside them.
    paths = [(out / file.path, file.url) for _, files in checked for file, _, _ in files]
    paths += [(path, "") for path, _ in extras]
    if config.feeds.page_name:
        paths.append((out / config.feeds.page_name, ""))
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


def _stale_page(
    config: Config, selection: Selection, prints: Fingerprints
) -> tuple[str, bytes] | None:
    """The feeds page's fingerprint and bytes when it must be made again, else None.

    What it shows besides its posts is settled on every build (a stat per newsletter);
    its posts are read and the page rendered only when any of it changed.
    """
    name = config.feeds.page_name
    if not name:
        return None
    inputs = page_inputs(config, selection.feeds, config.feeds.output_dir)
    latest = selection.feeds[0].posts[:LATEST]
    key, fresh = prints.check_file(name, selection, latest, repr(inputs).encode())
    if fresh:
        return None
    return key, feeds_page(config, inputs, page_items(config, latest))


__all__ = ["FeedReport", "build_feeds", "category_slug"]
