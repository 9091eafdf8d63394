"""Every error publisher raises on purpose, and the `Problem` values it reports.

    PublisherError                  an expected failure: the CLI prints it and exits 1
     ├── ConfigError                the config file is missing or wrong
     ├── ContentError               posts could not be read or settled
     ├── TemplateError              an email template is missing or broken
     ├── StoreError                 the SQLite state cannot be opened or used
     ├── FeedError                  a feed could not be built or written
     ├── DeliveryError              a message could not be handed over
     │    └── AuthenticationError   the SMTP server refused the credentials
     ├── ScheduleError              a schedule expression cannot be used
     └── TokenError                 an unsubscribe token is malformed, forged or expired

A `Problem` is one thing wrong with one input (a file and line, or a config key).
Stages collect problems and carry on with what is good; an error that holds several
problems reports them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong: where (file, line or key), what, and the way out."""

    where: str
    message: str
    line: int | None = None
    warning: bool = False
    # What makes it the same problem from one run to the next, when its text names what
    # changes each time (the reader a server's answer quotes); '' when that is its text.
    same_as: str = field(default="", compare=False)

    def __str__(self) -> str:
        place = self.where if self.line is None else f"{self.where}:{self.line}"
        return f"{place}: {self.message}"


def shown(value: object, limit: int = 60) -> str:
    """`value` as a message quotes it: its repr, cut to about `limit` characters."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # a number past Python's digits, a deep nest
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PublisherError(Exception):
    """An expected failure, reported to the user without a traceback."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return "\n".join([head, *(str(p) for p in self.problems)])


class ConfigError(PublisherError):
    """The config file is missing, unreadable or holds wrong values."""


class ContentError(PublisherError):
    """Posts could not be read or settled."""


class TemplateError(PublisherError):
    """An email template is missing or cannot be rendered."""


class StoreError(PublisherError):
    """The SQLite state file cannot be opened or used."""


class FeedError(PublisherError):
    """A feed could not be built or written."""


class DeliveryError(PublisherError):
    """A message could not be handed to the outbox or the SMTP server."""


class AuthenticationError(DeliveryError):
    """The SMTP server refused the configured credentials."""


class ScheduleError(PublisherError):
    """A schedule expression cannot be used."""


class TokenError(PublisherError):
    """An unsubscribe token is malformed, forged or expired."""
