"""`publisher check`: every problem in config, content, templates and secrets, found at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from publisher.config import Config
from publisher.content import index_site
from publisher.delivery import check_delivery
from publisher.errors import Problem
from publisher.newsletters.render import check_templates
from publisher.newsletters.tokens import check_secret


@dataclass(frozen=True)
class CheckReport:
    """How many posts were read, and every problem (warnings included)."""

    posts: int
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that are not mere warnings."""
        return tuple(p for p in self.problems if not p.warning)


def check_site(config: Config, now: datetime, environ: Mapping[str, str]) -> CheckReport:
    """Index every post (drafts too) without writing; check templates, secrets and delivery."""
    index = index_site(config, now, drafts=True, dry_run=True)
    problems = [
        *index.problems,
        *check_templates(config),
        *(check_secret(config.email.secret_env, environ) if config.newsletters else ()),
        *(check_delivery(config.delivery, environ) if config.newsletters else ()),
        *_one_click(config),
    ]
    return CheckReport(len(index.posts) + len(index.future), tuple(problems))


def _one_click(config: Config) -> list[Problem]:
    """A warning when emails can offer only the mailto unsubscribe (no RFC 8058 one-click)."""
    if not config.newsletters or config.email.unsubscribe_url:
        return []
    return [
        Problem(
            "[email] unsubscribe_url",
            "not set: emails offer only the mailto unsubscribe, without the one-click "
            "unsubscribe (RFC 8058) Gmail and Yahoo ask of bulk senders: set it to an https "
            "page that runs 'publisher unsubscribe TOKEN'",
            warning=True,
        )
    ]
