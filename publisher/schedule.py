"""`publisher schedule`: cron's work in one long-running process, for hosts without cron.

APScheduler 3 runs in the foreground: the whole run (index, feeds, due newsletters,
pending messages) every `[schedule] interval`, and each newsletter at its own crontab
times. Jobs run one at a time on one worker thread and take the same lock as `publisher
run`, so cron and the scheduler can share a site. A run that falls behind is done once,
late (coalesced), not once per missed time. SIGTERM or Ctrl-C lets the message in flight
finish and be recorded, then the process exits.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from publisher import pipeline
from publisher.config import Config, crontab
from publisher.errors import PublisherError
from publisher.options import RunOptions
from publisher.pipeline import RunReport

log = logging.getLogger(__name__)


# A run that could not start on time (the one before it was long) runs late, and once for
# all the times it missed.
_LATE_ONCE: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}

Job = Callable[[bool, "Collection[str] | None"], None]
"""What the scheduler calls: job(feeds, newsletters) does one run (None: every newsletter)."""


def make_scheduler(config: Config, job: Job) -> BlockingScheduler:
    """The scheduler for `config`, not started: the whole run every interval, each newsletter
    on its crontab; ScheduleError for a crontab that cannot be used."""
    tz = config.site.tz
    triggers = {n.id: crontab.parse(n.schedule, tz) for n in config.newsletters}
    scheduler = BlockingScheduler(
        timezone=tz,
        # One worker: runs never overlap inside the process (cron runs are kept out by the lock).
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )
    scheduler.add_job(
        job,
        IntervalTrigger(seconds=config.schedule.interval.total_seconds(), timezone=tz),
        args=(True, None),
        id="run",
        name="index, feeds and due newsletters",
        next_run_time=datetime.now(tz),
        **_LATE_ONCE,
    )
    for newsletter_id, trigger in triggers.items():
        scheduler.add_job(
            job,
            trigger,
            args=(False, (newsletter_id,)),
            id=f"newsletter:{newsletter_id}",
            name=f"newsletter {newsletter_id}",
            **_LATE_ONCE,
        )
    return scheduler


def serve(
    config: Config,
    stop: threading.Event,
    *,
    on_report: Callable[[RunReport], None] = lambda report: None,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """Run the schedule until `stop` is set; returns once the job in flight has finished."""
    busy = threading.Lock()

    def job(feeds: bool, newsletters: Collection[str] | None) -> None:
        if stop.is_set():
            return
        with busy:
            if stop.is_set():
                return
            try:
                options = RunOptions(
                    feeds=feeds, newsletters=newsletters, stop=stop.is_set, environ=environ
                )
                report = pipeline.run(config, datetime.now(UTC), options)
            except PublisherError as e:
                log.error("Error: %s", e)
                return
            on_report(report)

    scheduler = make_scheduler(config, job)

    def watch() -> None:
        stop.wait()
        scheduler.shutdown(wait=False)

    # Shut down from a thread, not the signal handler (which may interrupt the scheduler
    # while it holds its own locks), and only once it runs (shutdown() before start() fails).
    watcher = threading.Thread(target=watch, name="publisher-stop", daemon=True)
    scheduler.add_listener(lambda event: watcher.start(), EVENT_SCHEDULER_STARTED)
    log.info(
        "scheduled: a run every %s; %s",
        config.schedule.interval,
        ", ".join(f"{n.id} at '{n.schedule}'" for n in config.newsletters) or "no newsletters",
    )
    scheduler.start()
    with busy:  # the job in flight, if any, finishes its message and records it
        pass
