"""Post dates from front matter values, file names and strings in the forms Jekyll sites use."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from publisher.errors import shown

_JEKYLL = re.compile(r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")
_LAST_YEAR = 9998
_FILENAME_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)$")
_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # Jekyll: 2024-06-19 14:30:00 +0900
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)


_NO_SUCH_OFFSET = (
    "cannot read the date {text!r}: its offset from UTC is a day or more; write one "
    "between -23:59 and +23:59, such as '2024-06-19 14:30:00 +0900'"
)


class DateValueError(ValueError):
    """A date value that cannot be read; the message says which forms are accepted."""


def to_datetime(value: object, tz: ZoneInfo) -> datetime:
    """A front matter date (datetime, date or string) in UTC; naive means `tz`.

    The date must also be one `tz` can show (URLs and listings use the local date).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str) and value.strip():
        parsed = _parse_string(value.strip())
    else:
        raise DateValueError(
            f"expected a date such as '2024-06-19' or '2024-06-19 14:30:00 +0900', got "
            f"{shown(value)}: write it in one of those forms"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        utc = parsed.astimezone(UTC)
        utc.astimezone(tz)
    except OverflowError as e:
        # 0001-01-01 at +09:00 is still year 0 in UTC, which datetime cannot hold.
        raise DateValueError(
            f"date out of range: {_shown(value)!r} falls outside the years 1 to 9999 in UTC or in "
            f"the site's time zone ({tz}): fix the year"
        ) from e
    if utc.year > _LAST_YEAR:
        # Feeds add seconds to dates (so that no two items share an update time), and
        # show them in the site's zone: the last year datetime holds leaves no room.
        raise DateValueError(
            f"date out of range: {_shown(value)!r} is after the year {_LAST_YEAR}: fix the year"
        )
    return utc


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value).strip()


def _parse_string(text: str) -> datetime:
    m = _JEKYLL.match(text)
    if m is not None:
        # Jekyll's own form, the most common in front matter, without strptime's cost.
        y, mo, d, h, mi, s, sign, oh, om = m.groups()
        if int(oh) >= 24 or int(om) >= 60:
            raise DateValueError(_NO_SUCH_OFFSET.format(text=text))
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(-offset if sign == "-" else offset)
        try:
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)  # noqa: DTZ007 (naive is settled by the caller)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(text)  # RFC 822: Wed, 19 Jun 2024 14:30:00 +0900
    except (TypeError, ValueError, IndexError):
        pass
    raise DateValueError(
        f"cannot read the date {text!r}: write it as '2024-06-19', "
        "'2024-06-19 14:30:00 +0900' or ISO 8601 '2024-06-19T14:30:00+09:00'"
    )


def split_filename_date(stem: str) -> tuple[date | None, str]:
    """'2024-06-19-some-title' -> (date(2024, 6, 19), 'some-title'); no prefix -> (None, stem)."""
    m = _FILENAME_DATE.match(stem)
    if m is None:
        return None, stem
    try:
        return date(int(m[1]), int(m[2]), int(m[3])), m[4]
    except ValueError:
        return None, stem
