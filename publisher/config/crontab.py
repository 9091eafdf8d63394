"""Crontab expressions in the site's time zone: the one place that wraps APScheduler's trigger.

APScheduler 3 reads a numeric day of week from Monday (`1` is Tuesday, unlike cron), so
numbers there are refused and day names asked for instead. Everything else about the
trigger stays behind `parse`, `last_fire` and `next_fire`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

from publisher.errors import ScheduleError

# Cron's resolution is a minute; APScheduler also ceils to whole seconds.
_RESOLUTION = timedelta(seconds=1)
# How far back to look for the last fire time: each window is tried in turn, so a
# schedule firing every minute costs one step and 29 February costs a few more.
_WINDOWS = (
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
    timedelta(days=366 * 8 + 2),
)


def check_expression(expr: str) -> str:
    """The expression if it is a usable 5-field crontab; ValueError saying what is wrong."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected a crontab expression of 5 fields (minute hour day month weekday), "
            f"got {expr!r}"
        )
    if re.search(r"\d", fields[4]):
        raise ValueError(
            f"day of week {fields[4]!r} is a number, which APScheduler reads from Monday "
            "(1 is Tuesday): use day names such as 'mon-fri' or 'sun'"
        )
    try:
        CronTrigger.from_crontab(expr)
    except ValueError as e:
        raise ValueError(f"not a valid crontab expression {expr!r} ({e})") from e
    return expr


def parse(expr: str, tz: tzinfo) -> CronTrigger:
    """A trigger for `expr` whose hours and days are read in `tz`; ScheduleError if unusable."""
    try:
        check_expression(expr)
        return CronTrigger.from_crontab(expr, timezone=tz)
    except ValueError as e:
        raise ScheduleError(f"schedule: {e}") from e


def last_fire(expr: str, tz: tzinfo, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (in `tz`), or None if none in the last 8 years."""
    _require_aware(now)
    trigger = parse(expr, tz)
    for window in _WINDOWS:
        low = now - window
        first = _first_at_or_after(trigger, low)
        if first is not None and first <= now:
            break
    else:
        return None
    # A fire exists in [low, now]: find the latest start from which one still does.
    high = now
    while high - low > _RESOLUTION:
        middle = low + (high - low) / 2
        found = _first_at_or_after(trigger, middle)
        if found is not None and found <= now:
            low, first = middle, found
        else:
            high = middle
    found = _first_at_or_after(trigger, high)
    if found is not None and found <= now:
        first = found
    return first


def next_fire(expr: str, tz: tzinfo, now: datetime) -> datetime | None:
    """The first fire time after `now` (in `tz`), or None if the schedule never fires again."""
    _require_aware(now)
    # From the next whole second: APScheduler ceils to seconds, which could skip a fire.
    return _first_at_or_after(parse(expr, tz), now.replace(microsecond=0) + _RESOLUTION)


def _first_at_or_after(trigger: CronTrigger, moment: datetime) -> datetime | None:
    fire: datetime | None = trigger.get_next_fire_time(None, moment)
    return fire


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
