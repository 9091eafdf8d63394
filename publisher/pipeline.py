"""`publisher run`, top to bottom: index -> feeds -> WebSub -> newsletters (and their archive
pages) -> delivery.

One run at a time (the lock next to the state file); a run that finds it held does
nothing. Each stage's problems are gathered and the good work still done; the caller
prints them, or only those no earlier run printed (`fresh_problems`: cron mails what a run
prints). A dry run reads everything, renders every message, and writes, records and sends
nothing. A complete plain run keeps what it read and left for the quiet cron minutes
after it (`quiet`); any other run that may write drops that record.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.content.index import IndexResult, index_posts, index_site
from publisher.errors import Problem, PublisherError, StoreError
from publisher.feeds import FeedReport, build_feeds
from publisher.feeds.websub import notify_hub
from publisher.inputs import Observation
from publisher.lock import lock_path, run_lock
from publisher.newsletters.send import MailReport, send_newsletters
from publisher.options import DEFAULTS, RunOptions
from publisher.quiet import quiet_minutes
from publisher.stopping import Stopped, interruptible
from publisher.store import Store, scratch_copy
from publisher.store.problems import report_once

log = logging.getLogger(__name__)

STATE_FILE = "[store] path"  # where a problem of the state file itself is reported


@dataclass(frozen=True)
class RunReport:
    """What one run did; `locked_out` when another run held the lock and this one did nothing."""

    locked_out: bool = False
    dry_run: bool = False
    stopped: bool = False  # asked to stop (SIGTERM, Ctrl-C) before the end
    posts: int = 0
    feed_report: FeedReport | None = None  # None: feeds not built (or failed)
    issues: tuple[str, ...] = ()
    queued: int = 0
    sent: int = 0
    bounced: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0
    archived: tuple[Path, ...] = ()  # archive pages written (one per new issue)
    # An error of the sending stage, which the next run may not meet again (a message
    # refused is failed for good): no quiet minute repeats this run's exit status.
    passing_errors: bool = False
    problems: tuple[Problem, ...] = ()  # every problem found
    fresh_problems: tuple[Problem, ...] = ()  # those no earlier run printed (all, in a dry run)

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
        if self.stopped:
            return "stopped before the end: the rest is left for the next run"
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


def run(
    config: Config,
    now: datetime,
    options: RunOptions = DEFAULTS,
    observed: Observation | None = None,
) -> RunReport:
    """Do one run at `now`: every stage, or only those `options` names. `observed`: what a
    plain cron run saw of its inputs before reading them, kept with what the run left for
    the quiet minutes after it (`quiet`)."""
    if options.dry_run:  # reads only, so it needs no lock (and creates no lock file)
        return _until_stopped(config, now, options)[0]
    with run_lock(config.store.path) as held:
        if not held:
            log.debug("another publisher run holds %s", lock_path(config.store.path))
            return RunReport(locked_out=True)
        whole = options.feeds and options.newsletters is None
        with quiet_minutes(config, observed if whole else None, now) as keeper:
            report, index = _until_stopped(config, now, options)
            if report.stopped or index is None:
                return report
            report = replace(report, fresh_problems=_first_reports(config, report.problems, now))
            if report.passing_errors or any(p.where == STATE_FILE for p in report.problems):
                return report  # no record: the next minute runs whole (and says its status)
            idle = RunReport(posts=report.posts).summary()
            keeper.keep(index, report.feed_report, report.archived, ok=report.ok, idle=idle)
            return report


def _until_stopped(
    config: Config, now: datetime, options: RunOptions
) -> tuple[RunReport, IndexResult | None]:
    """The stages, or a report saying the run was stopped (SIGTERM, Ctrl-C) before its end:
    what it wrote is whole and recorded, the rest is left for the next run."""
    try:
        with ExitStack() as stack:
            return _stages(stack, config, now, options)
    except Stopped:
        log.info("stopped: the rest is left for the next run")
        return RunReport(dry_run=options.dry_run, stopped=True), None


def _stages(
    stack: ExitStack, config: Config, now: datetime, options: RunOptions
) -> tuple[RunReport, IndexResult]:
    dry_run = options.dry_run
    stuck: Problem | None = None  # the state file cannot be written: no email goes out
    feeds_config = config
    with interruptible():  # reading posts writes nothing until the end, in transactions
        try:
            index = index_site(config, now, options)
        except StoreError as e:
            stuck = Problem(STATE_FILE, f"{e}; the feeds are built, and no email is sent")
            feeds_config, index = _from_a_copy(stack, config, now)
    problems = list(index.problems) + ([stuck] if stuck else [])
    built = None
    if options.feeds:
        try:
            with interruptible():  # each batch of files is written whole (shielded)
                built = build_feeds(feeds_config, index.posts, now=now, options=options)
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
    # A state file that could not be written (it filled up while sending) keeps no record
    # of a second build either: the next run makes the feeds page with the archive.
    writable = not any(p.where == STATE_FILE for p in mail.problems)
    if built is not None and mail.new_archives and writable:
        # The feeds page lists each newsletter's archive from its first issue on: made
        # again now rather than by the next run, which would otherwise write it.
        try:
            again = build_feeds(config, index.posts, now=now, options=options)
        except PublisherError as e:
            problems.append(Problem("[feeds] output_dir", str(e)))
        else:
            written = tuple(dict.fromkeys((*built.written, *again.written)))
            built = replace(built, written=written)
    sent = mail.delivery
    report = RunReport(
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
        archived=mail.archived,
        passing_errors=any(not p.warning for p in mail.problems),
        problems=(all_problems := (*problems, *mail.problems)),
        fresh_problems=all_problems,
    )
    return report, index


def _first_reports(
    config: Config, problems: tuple[Problem, ...], now: datetime
) -> tuple[Problem, ...]:
    """The problems no earlier run printed (the record kept in the state file)."""
    if not problems and not config.store.path.exists():
        return ()
    try:
        with Store.open(config.store.path) as store:
            return report_once(store, problems, config.path.parent, now)
    except StoreError:  # a full or read-only disk: said every run until it is fixed
        return problems


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
    index = index_posts(config, store, now, RunOptions(dry_run=True))
    copy = config.model_copy(update={"store": config.store.model_copy(update={"path": store.path})})
    return copy, index
