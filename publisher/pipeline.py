"""`publisher run`, top to bottom: index -> feeds -> WebSub -> newsletters (and their archive
pages) -> delivery.

One run at a time (the lock next to the state file); a run that finds it held does
nothing. Each stage's problems are gathered and the good work still done; the caller
prints them, or only those no earlier run printed (`fresh_problems`: cron mails what a run
prints). A dry run reads everything, renders every message, and writes, records and sends
nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from publisher.config import Config
from publisher.content.index import index_site
from publisher.errors import Problem, PublisherError
from publisher.feeds import FeedReport, build_feeds
from publisher.feeds.websub import notify_hub
from publisher.lock import lock_path, run_lock
from publisher.newsletters.send import MailReport, send_newsletters
from publisher.options import DEFAULTS, RunOptions
from publisher.stopping import Stopped, interruptible
from publisher.store import Store
from publisher.store.problems import report_once

log = logging.getLogger(__name__)


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
        return ((self.bounced, "bounced"), (self.failed, "failed"), (self.deferred, "deferred"))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def run(config: Config, now: datetime, options: RunOptions = DEFAULTS) -> RunReport:
    """Do one run at `now`: every stage, or only those `options` names."""
    if options.dry_run:  # reads only, so it needs no lock (and creates no lock file)
        return _until_stopped(config, now, options)
    with run_lock(config.store.path) as held:
        if not held:
            log.debug("another publisher run holds %s", lock_path(config.store.path))
            return RunReport(locked_out=True)
        report = _until_stopped(config, now, options)
        if report.stopped:
            return report
        return replace(report, fresh_problems=_first_reports(config, report.problems, now))


def _until_stopped(config: Config, now: datetime, options: RunOptions) -> RunReport:
    """The stages, or a report saying the run was stopped (SIGTERM, Ctrl-C) before its end:
    what it wrote is whole and recorded, the rest is left for the next run."""
    try:
        return _stages(config, now, options)
    except Stopped:
        log.info("stopped: the rest is left for the next run")
        return RunReport(dry_run=options.dry_run, stopped=True)


def _stages(config: Config, now: datetime, options: RunOptions) -> RunReport:
    dry_run = options.dry_run
    with interruptible():  # reading posts writes nothing until the end, in transactions
        index = index_site(
            config, now, dry_run=dry_run, stop=options.stop, progress=options.progress
        )
    problems = list(index.problems)
    built = None
    if options.feeds:
        try:
            with interruptible():  # each batch of files is written whole (shielded)
                built = build_feeds(
                    config, index.posts, now=now, dry_run=dry_run, stop=options.stop
                )
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
    if config.newsletters and (options.newsletters is None or options.newsletters):
        mail = send_newsletters(config, index.posts, now, options)
    if built is not None and mail.new_archives:
        # The feeds page lists each newsletter's archive from its first issue on: made
        # again now rather than by the next run, which would otherwise write it.
        try:
            again = build_feeds(config, index.posts, now=now, dry_run=dry_run)
        except PublisherError as e:
            problems.append(Problem("[feeds] output_dir", str(e)))
        else:
            written = tuple(dict.fromkeys((*built.written, *again.written)))
            built = replace(built, written=written)
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
        problems=(all_problems := (*problems, *mail.problems)),
        fresh_problems=all_problems,
    )


def _first_reports(
    config: Config, problems: tuple[Problem, ...], now: datetime
) -> tuple[Problem, ...]:
    """The problems no earlier run printed (the record kept in the state file)."""
    if not problems and not config.store.path.exists():
        return ()
    with Store.open(config.store.path) as store:
        return report_once(store, problems, config.path.parent, now)
