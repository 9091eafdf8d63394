"""The kinds of value settings are made of: durations, variable names, paths, time zones,
web addresses and email addresses, each with the check that says what was expected; and
`Section`, the base of every table.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from publisher.durations import parse_duration

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
