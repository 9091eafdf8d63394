"""`publisher run`, top to bottom: index -> feeds -> WebSub -> newsletters -> delivery.

One run at a time (the lock next to the state file); a run that finds it held does
nothing. Each stage's problems are gathered and the good work still done; the caller
prints them. A dry run reads everything, renders every message, and writes, records and
sends nothing.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.content import IndexResult, index_posts, index_site
from publisher.errors import Problem, PublisherError, StoreError
from publisher.feeds import FeedReport, build_feeds
from publisher.feeds.websub import notify_hub
from publisher.lock import lock_path, run_lock
from publisher.newsletters.send import MailReport, send_newsletters
from publisher.options import DEFAULTS, RunOptions
from publisher.store import Store, scratch_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunReport:
    """What one run did; `locked_out` when another run held the lock and this one did nothing."""

    locked_out: bool = False
    dry_run: bool = False
    posts: int = 0
    feed_report: FeedReport | None = None  # None: feeds not built (or failed)
    issues: tuple[str, ...] = ()
    queued: int = 0
    sent: int = 0
    bounced: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0
    problems: tuple[Problem, ...] = ()

    @property
    def feeds_written(self) -> int:
        """How many feed files were written (or would be, in a dry run)."""
        return len(self.feed_report.written) if self.feed_report else 0

    @property
    def ok(self) -> bool:
        """True when no problem is worse than a warning."""
        return all(p.warning for p in self.problems)

    @property
    def eventful(self) -> bool:
        """True when something was written, queued or sent (a quiet run prints nothing)."""
        return bool(self.feeds_written or self.issues or self.queued or self.sent or self.bounced)

    def summary(self) -> str:
        """One line: posts, feeds written, issues and emails."""
        would = self.dry_run
        parts = [
            _count(self.posts, "post"),
            _count(self.feeds_written, "feed file") + (" to write" if would else " written"),
            _count(len(self.issues), "new issue"),
            _count(self.sent, "email") + (" to send" if would else " sent"),
        ]
        parts += [f"{n} {what}" for n, what in self._trouble() if n]
        return ", ".join(parts)

    def _trouble(self) -> tuple[tuple[int, str], ...]:
        return (
            (self.bounced, "bounced"),
            (self.failed, "failed"),
            (self.deferred, "deferred"),
            (self.unknown, "unknown"),
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def run(config: Config, now: datetime, options: RunOptions = DEFAULTS) -> RunReport:
    """Do one run at `now`: every stage, or only those `options` names."""
    if options.dry_run:  # reads only, so it needs no lock (and creates no lock file)
        return _stages(config, now, options)
    with run_lock(config.store.path) as held:
        if not held:
            log.debug("another publisher run holds %s", lock_path(config.store.path))
            return RunReport(locked_out=True)
        return _stages(config, now, options)


def _stages(config: Config, now: datetime, options: RunOptions) -> RunReport:
    with ExitStack() as stack:
        return _all_stages(stack, config, now, options)


def _all_stages(stack: ExitStack, config: Config, now: datetime, options: RunOptions) -> RunReport:
    dry_run = options.dry_run
    stuck: Problem | None = None  # the state file cannot be written: no email goes out
    feeds_config = config
    try:
        index = index_site(config, now, dry_run=dry_run)
    except StoreError as e:
        stuck = Problem("[store] path", f"{e}; the feeds are built, and no email is sent")
        feeds_config, index = _from_a_copy(stack, config, now)
    problems = list(index.problems) + ([stuck] if stuck else [])
    built = None
    if options.feeds:
        try:
            built = build_feeds(feeds_config, index.posts, dry_run=dry_run)
        except PublisherError as e:  # the newsletters still go out
            problems.append(Problem("[feeds] output_dir", str(e)))
        else:
            problems += built.problems
            hub = config.feeds.websub_hub
            if hub and built.changed_urls and not dry_run:
                problems += notify_hub(
                    hub, built.changed_urls, config.feeds.websub_timeout.total_seconds()
                )
    mail = MailReport()
    if (
        stuck is None
        and config.newsletters
        and (options.newsletters is None or options.newsletters)
    ):
        mail = send_newsletters(config, index.posts, now, options)
    sent = mail.delivery
    return RunReport(
        dry_run=dry_run,
        posts=len(index.posts),
        feed_report=built,
        issues=mail.issues,
        queued=mail.queued,
        sent=sent.sent,
        bounced=sent.bounced,
        failed=sent.failed,
        deferred=sent.deferred,
        unknown=sent.unknown,
        problems=(*problems, *mail.problems),
    )


def _from_a_copy(stack: ExitStack, config: Config, now: datetime) -> tuple[Config, IndexResult]:
    """The posts indexed against a copy of a state file that cannot be written (a full or
    read-only disk; an empty one if it cannot even be read), and the config with that copy
    as its state file, where the feeds keep their record this once: the feeds still go
    out, and the state file's trouble is told once."""
    try:
        store = stack.enter_context(scratch_copy(config.store.path))
    except StoreError:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="publisher-"))
        store = stack.enter_context(Store.open(Path(folder) / config.store.path.name))
    index = index_posts(config, store, now, dry_run=True)
    copy = config.model_copy(update={"store": config.store.model_copy(update={"path": store.path})})
    return copy, index
