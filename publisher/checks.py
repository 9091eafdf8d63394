"""`publisher check`: every problem in config, content, templates and secrets, found at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from publisher.config import Config
from publisher.content import index_site
from publisher.delivery import check_delivery
from publisher.digest import check_templates
from publisher.errors import Problem
from publisher.tokens import check_secret


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
        *check_secret(config, environ),
        *(check_delivery(config.delivery, environ) if config.newsletters else ()),
    ]
    return CheckReport(len(index.posts) + len(index.future), tuple(problems))
