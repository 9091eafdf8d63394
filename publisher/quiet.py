"""What a complete run leaves for the quiet cron minutes after it (`publisher.main`).

A plain `publisher run` observes its inputs before it reads them (`publisher.inputs`) and,
once it has done everything, keeps in the state file (`store.quiet`):

- those digests;
- the stamp of every file it wrote or looked at on the way: the feeds, their stylesheet,
  the discovery snippet and the feeds page; each newsletter's archive index and feed (the
  feeds page lists those that exist); the images under `[content] static_dir` whose size
  an enclosure may give. A file changed while the run was going (its change time is not
  before the run began) is kept as changed, so the next minute does the whole run;
- the first moment at which time alone gives a run work: the date of the first post
  dated later, each newsletter's next issue time (`plan.next_issue_time`: its next fire
  when a post waits for it, now when an issue is due and could not be made), the next
  image server to ask again (`lengths.next_ask`);
- its exit status and the line `-v` prints for a run that does nothing.

A run that may write and is not plain (with `--now`, of some stages only) forgets the
record first; a plain run that stops, fails part way, or meets an error the next run may
not meet again (a message refused, a page that could not be written) forgets it at its
end: no minute is answered from a state it changed, or with an exit status that no
longer holds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.content.index import IndexResult
from publisher.content.post import Post
from publisher.content.urls import absolute_url
from publisher.errors import StoreError
from publisher.feeds import FeedReport
from publisher.feeds.items import local_image
from publisher.feeds.lengths import next_ask
from publisher.feeds.model import archive_folder
from publisher.inputs import FORMAT, Observation, files_text, iso_utc, stamp, stamp_text
from publisher.newsletters.choices import unconfirmed_expire
from publisher.newsletters.plan import next_issue_time
from publisher.store import Store
from publisher.store.quiet import QuietRecord, forget_record, save_record

log = logging.getLogger(__name__)

# File systems stamp times from a clock that may lag the one read here by a tick.
_CLOCK_SLACK_NS = 100_000_000
_CHANGED = "changed"  # no stamp reads so: the next minute does the whole run


class Keeper:
    """Keeps the record of one complete run (see `quiet_minutes`)."""

    def __init__(self, config: Config, observed: Observation | None, now: datetime) -> None:
        self.config = config
        self.observed = observed
        self.now = now
        self.started = time.time_ns()
        self.kept = False

    def keep(
        self,
        index: IndexResult,
        feeds: FeedReport | None,
        archived: Sequence[Path],
        *,
        ok: bool,
        idle: str,
    ) -> None:
        """The run is complete: keep what it observed and left (`feeds`, the archive pages
        it wrote), with its exit status (`ok`: 0, else 1) and `idle`, the line -v prints
        for a run that does nothing."""
        observed, config = self.observed, self.config
        if observed is None or observed.config != str(config.path):
            return  # not a plain run, or one observed for another config file
        if feeds is None:
            return  # the feeds could not be written: every run tries again
        archive = config.archive
        # An issue's page was written with its newsletter's index and feed beside it.
        written = {*feeds.written, *archived}
        written |= {
            p.parent / name for p in archived for name in (archive.index_name, archive.feed_name)
        }
        files = [
            (str(path), _left(path, self.started, written))
            for path in _watched(config, index.posts, feeds)
        ]
        try:
            with Store.open(config.store.path) as store:
                due = comes_due(config, store, index, self.now)
                record = QuietRecord(
                    format=FORMAT,
                    config=observed.config,
                    salt=observed.salt,
                    inputs=observed.inputs,
                    posts=observed.posts,
                    files=files_text(files),
                    run_at=iso_utc(self.now),
                    due_at=None if due is None else iso_utc(due),
                    status=0 if ok else 1,
                    summary=idle,
                )
                if save_record(store, record):
                    log.debug("kept the record for quiet minutes (next due: %s)", due)
        except (StoreError, sqlite3.Error, UnicodeError) as e:  # a path SQLite cannot hold
            log.warning(
                "%s: cannot keep the record of this run (%s): the next run does it all again",
                config.store.path,
                e,
            )
            return
        self.kept = True


@contextmanager
def quiet_minutes(config: Config, observed: Observation | None, now: datetime) -> Iterator[Keeper]:
    """Around one run at `now`, under the run lock: the record of the last complete run is
    replaced by this run's if it calls `keep` (a plain run, given `observed`: what it saw
    before it read anything), else dropped (dropped first when not a plain run: a run
    killed part way leaves none)."""
    keeper = Keeper(config, observed, now)
    if observed is None:
        _forget(config.store.path)
    try:
        yield keeper
    finally:
        if not keeper.kept:
            _forget(config.store.path)


def comes_due(config: Config, store: Store, index: IndexResult, now: datetime) -> datetime | None:
    """The first moment after a run at `now` at which time alone gives a run work."""
    times: list[datetime | None] = [p.date for p in index.future]  # published then
    for newsletter in config.newsletters:
        times.append(next_issue_time(config.site.tz, store, newsletter, index.posts, now))
    times.append(next_ask(config, store, now))
    if config.web:
        times.append(unconfirmed_expire(store, config.web.confirm_max_age))
    found = [t for t in times if t is not None]
    return min(found) if found else None


def _watched(config: Config, posts: Sequence[Post], feeds: FeedReport | None) -> list[Path]:
    """The files a run with nothing to do would look at or write again if they changed."""
    found = [*feeds.written, *feeds.unchanged] if feeds else []
    out = config.feeds.output_dir
    if config.archive.enabled:
        for newsletter in config.newsletters:
            folder = out / archive_folder(config.archive, newsletter.id)
            found += [folder / config.archive.index_name, folder / config.archive.feed_name]
    return found + _images(config, posts)


def _images(config: Config, posts: Sequence[Post]) -> list[Path]:
    """The files under [content] static_dir that give an image's length to the posts the
    feeds may show: the site's first `limit` and each category name's, more than the
    feeds pick (`feeds.model.select_posts`) but never fewer."""
    if config.content.static_dir is None:
        return []
    limit = config.feeds.limit
    seen: set[str] = set()
    counts: dict[str, int] = {}
    found: list[Path] = []
    for post in posts:  # newest first; a later twin of an id is left out, as there
        if post.id in seen:
            continue
        seen.add(post.id)
        shown = len(seen) <= limit
        for category in set(post.categories):
            counts[category] = counts.get(category, 0) + 1
            shown = shown or counts[category] <= limit
        image = post.image if shown else None
        if image is not None and image.length is None:
            where = local_image(config, absolute_url(image.url, post.url))
            if where is not None:
                found.append(where)
    return found


def _left(path: Path, started: int, written: set[Path]) -> str:
    """The stamp of a file as the run leaves it; `_CHANGED` when something else changed it
    while the run went on (a file the run did not write, changed since it began)."""
    now = stamp(str(path))
    if now is not None and path not in written and now[2] >= started - _CLOCK_SLACK_NS:
        return _CHANGED
    return stamp_text(now)


def _forget(path: Path) -> None:
    """Drop the record, if the state file holds one (a missing file is not created)."""
    if not os.path.exists(path):
        return
    try:
        with Store.open(path) as store:
            forget_record(store)
    except (StoreError, sqlite3.Error) as e:
        log.debug("%s: cannot drop the record for quiet minutes (%s)", path, e)
