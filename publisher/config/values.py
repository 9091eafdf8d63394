"""The kinds of value settings are made of: durations, variable names, paths, time zones,
web addresses and email addresses, each with the check that says what was expected; and
`Section`, the base of every table.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

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


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_name(value: object) -> object:
    """The name of an environment variable, or '' for none; ValueError otherwise. The
    message never repeats the value: it may be the secret, pasted in the wrong place."""
    if not isinstance(value, str) or (value and _ENV_NAME.fullmatch(value) is None):
        raise ValueError(
            "expected the name of an environment variable such as PUBLISHER_SMTP_PASSWORD "
            "(letters, digits and _), not the secret itself: put the secret in that variable"
        )
    return value


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is None or value.is_absolute():
        return value
    return (Path(base) / value).resolve()


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as 'Asia/Seoul' or 'UTC'"
        ) from e
    return value


def check_absolute_url(value: str) -> str:
    """An absolute http(s) URL with a host a browser can reach (an internationalised one
    too: links carry it IDNA-encoded) and a port that is one; ValueError saying what was
    expected otherwise."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"expected an absolute http(s) URL such as 'https://example.com/', got {value!r}"
        )
    try:
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError as e:
        raise ValueError(f"{value!r} has a port that is not one (1-65535)") from e
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError:
        host = " "
    if not _HOST.fullmatch(host):
        raise ValueError(
            f"{value!r} has no host name a browser can reach: write one such as "
            "'https://example.com/'"
        )
    return value


# A host name (IDNA-encoded), an IPv4 address or an IPv6 one (without its brackets).
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
RelPath = Annotated[Path, AfterValidator(_resolve_path)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
AbsoluteUrl = Annotated[str, AfterValidator(check_absolute_url)]
EnvName = Annotated[str, BeforeValidator(check_env_name)]


def usable_address(text: str) -> ValidatedEmail:
    """An address email can carry without SMTPUTF8 (an IDN domain is fine, a Korean local part
    is not); ValueError with the reason otherwise."""
    try:
        return validate_email(text.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        raise ValueError(f"{text.strip()!r} is not a usable email address ({e})") from e


class Section(BaseModel):
    """A config table: frozen, and every key it does not know is an error."""

    # validate_default: a default path is resolved against the config file like a given one.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
