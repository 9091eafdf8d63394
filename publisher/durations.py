"""Durations as settings write them ('90s', '30m', '24h', '7d', '2w'): standard library only,
so that the quiet check reads them as the config does.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Past this, `now + duration` and socket timeouts overflow; no setting needs more.
_LONGEST = timedelta(days=36500)


def parse_duration(value: object) -> object:
    """'90s', '30m', '24h', '7d', '2w', a number of seconds or a timedelta -> a timedelta
    longer than zero and at most 100 years; ValueError saying what was expected otherwise."""
    if isinstance(value, bool):
        return value  # pydantic refuses it as it refuses any other non-duration
    if isinstance(value, str):
        match = _DURATION.match(value)
        seconds = float(match[1]) * _UNITS[match[2]] if match else math.nan
    elif isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int past float's range
            seconds = math.inf if value > 0 else -math.inf
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        return value
    # Checked before timedelta() sees it: it raises OverflowError on inf or a huge number.
    if math.isnan(seconds):
        raise ValueError(f"expected a duration such as '30m', '24h' or '7d', got {value!r}")
    if seconds <= 0:
        raise ValueError(
            f"expected a positive duration such as '10s', '5m' or '24h', got {value!r}"
        )
    if seconds > _LONGEST.total_seconds():
        raise ValueError(f"expected a duration of at most 100 years ('36500d'), got {value!r}")
    return timedelta(seconds=seconds)
