"""Crontab expressions read in the site's time zone, with weekdays by name only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import make_config

from publisher.config import crontab
from publisher.errors import ConfigError, ScheduleError

SEOUL = ZoneInfo("Asia/Seoul")


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "now", "expected"),
    [
        pytest.param(
            "* * * * *", seoul(2024, 6, 19, 10, 0, 30), seoul(2024, 6, 19, 10, 0), id="every-minute"
        ),
        pytest.param(
            "0 7 * * *", seoul(2024, 6, 19, 6, 59), seoul(2024, 6, 18, 7, 0), id="daily-before"
        ),
        pytest.param(
            "0 7 * * *", seoul(2024, 6, 19, 7, 0), seoul(2024, 6, 19, 7, 0), id="daily-exact"
        ),
        pytest.param(
            "0 7 * * *", seoul(2024, 6, 19, 15, 0), seoul(2024, 6, 19, 7, 0), id="daily-after"
        ),
        pytest.param(
            "30 9 * * mon-fri",
            seoul(2024, 6, 23, 12, 0),
            seoul(2024, 6, 21, 9, 30),
            id="weekdays-on-sunday",
        ),
        pytest.param(
            "0 0 29 feb *", seoul(2027, 3, 1, 0, 0), seoul(2024, 2, 29, 0, 0), id="leap-day"
        ),
        pytest.param(
            "*/15 * * * *", seoul(2024, 6, 19, 10, 44, 59), seoul(2024, 6, 19, 10, 30), id="step"
        ),
    ],
)
def test_last_fire_is_the_latest_fire_at_or_before_now(
    expr: str, now: datetime, expected: datetime
) -> None:
    assert crontab.last_fire(expr, SEOUL, now) == expected


def test_last_fire_reads_hours_in_the_site_zone() -> None:
    # 07:00 in Seoul is 22:00 UTC the day before.
    fired = crontab.last_fire("0 7 * * *", SEOUL, datetime(2024, 6, 19, 0, 0, tzinfo=UTC))
    assert fired is not None
    assert fired.astimezone(UTC) == datetime(2024, 6, 18, 22, 0, tzinfo=UTC)


def test_numeric_weekday_is_refused_with_the_reason() -> None:
    with pytest.raises(ScheduleError) as e:
        crontab.parse("0 7 * * 1", SEOUL)
    assert "day of week '1' is a number, which APScheduler reads from Monday (1 is Tuesday)" in str(
        e.value
    )
    assert "use day names such as 'mon-fri'" in str(e.value)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        pytest.param("0 7 * *", "expected a crontab expression of 5 fields", id="four-fields"),
        pytest.param("61 * * * *", "not a valid crontab expression '61 * * * *'", id="minute-61"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(ScheduleError) as e:
        crontab.parse(expr, SEOUL)
    assert message in str(e.value)


def test_the_config_refuses_a_numeric_weekday_naming_the_key(tmp_path: Path) -> None:
    newsletter = {"id": "n", "name": "N", "sender": "a@example.com", "schedule": "0 7 * * 1-5"}
    with pytest.raises(ConfigError) as e:
        make_config(tmp_path, newsletters=[newsletter])
    assert "newsletters[0].schedule: day of week '1-5' is a number" in str(e.value)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        crontab.last_fire("* * * * *", SEOUL, datetime(2024, 6, 19))  # noqa: DTZ001
