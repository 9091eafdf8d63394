"""`publisher schedule` in a real process: runs at once, shares the lock, stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from delivery_helpers import address, journal_counts, make_site, start_publisher
from factories import make_config
from smtp_server import SmtpServer

from publisher.config import Config, NewsletterConfig
from publisher.errors import ScheduleError
from publisher.lock import run_lock
from publisher.schedule import make_scheduler, serve


def read_until(proc: subprocess.Popen[str], text: str) -> list[str]:
    """Lines of the process's stderr up to and including the first one holding `text`."""
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"the process ended without saying {text!r}: {''.join(lines)}")


def test_sigterm_finishes_the_message_in_flight_and_exits_0(tmp_path: Path) -> None:
    with SmtpServer() as server:
        # posts of an hour ago: the schedule works on the real clock
        recent = datetime.now(UTC) - timedelta(hours=1)
        config = make_site(
            tmp_path,
            subscribers=6,
            smtp_port=server.port,
            dated=recent,
            smtp="connections = 1\n",  # one message in flight at a time, to know which
        )
        server.hold_at(2)
        proc = start_publisher(config, "-vv", "schedule")
        server.wait_for(2)  # the first run is sending; the 2nd message awaits its answer
        proc.send_signal(signal.SIGTERM)
        read_until(proc, "stopping: finishing the message in flight")
        server.release()
        _, err = proc.communicate(timeout=60)
        arrivals = Counter(server.recipients())
    assert proc.returncode == 0, err
    assert arrivals == {address(0): 1, address(1): 1}
    # the message in flight was answered, so it is recorded as sent; the rest wait
    assert journal_counts(config) == {"sent": 2, "pending": 4}


def test_the_schedule_takes_the_same_lock_as_cron_runs(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=2, dated=datetime.now(UTC) - timedelta(hours=1))
    with run_lock(tmp_path / "state" / "publisher.sqlite3") as held:
        assert held
        proc = start_publisher(config, "-v", "schedule")
        read_until(proc, "another publisher run holds")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not (tmp_path / "outbox").exists()
    assert not (tmp_path / "public").exists()


def newsletters_config(tmp_path: Path, *schedules: str) -> Config:
    config = make_config(tmp_path, schedule={"interval": "90s"})
    # built past validation, as the scheduler's own check is what is tested
    entries = [
        NewsletterConfig.model_construct(
            id=f"n{i}", name="속보", schedule=expr, sender="news@newsdao.kr"
        )
        for i, expr in enumerate(schedules)
    ]
    return config.model_copy(update={"newsletters": entries})


def test_each_newsletter_has_its_crontab_and_missed_runs_coalesce(tmp_path: Path) -> None:
    config = newsletters_config(tmp_path, "0 7 * * mon-fri", "*/15 * * * *")
    scheduler = make_scheduler(config, lambda feeds, newsletters: None)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"run", "newsletter:n0", "newsletter:n1"}
    assert jobs["run"].args == (True, None)
    assert jobs["run"].trigger.interval == timedelta(seconds=90)
    assert jobs["newsletter:n0"].args == (False, ("n0",))
    assert str(jobs["newsletter:n0"].trigger.timezone) == "Asia/Seoul"
    seoul_monday = datetime(2024, 6, 17, 8, 0, tzinfo=config.site.tz)
    assert jobs["newsletter:n0"].trigger.get_next_fire_time(None, seoul_monday) == datetime(
        2024, 6, 18, 7, 0, tzinfo=config.site.tz
    )
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)


def test_a_numeric_weekday_is_refused_before_anything_runs(tmp_path: Path) -> None:
    config = newsletters_config(tmp_path, "0 7 * * 1")
    with pytest.raises(ScheduleError) as e:
        serve(config, threading.Event())
    assert "day of week '1' is a number, which APScheduler reads from Monday" in str(e.value)
