"""`publisher check`: every problem in config, content, templates and secrets, found at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from publisher.config import Config
from publisher.content.index import index_site
from publisher.delivery import check_delivery
from publisher.errors import ContentError, Problem, StoreError
from publisher.newsletters.render import check_templates
from publisher.newsletters.tokens import check_secret
from publisher.options import RunOptions


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
    found: tuple[Problem, ...]
    try:
        index = index_site(config, now, RunOptions(drafts=True, dry_run=True))
    except (ContentError, StoreError) as e:  # no content or state to read: check the rest
        key = "[content] dir" if isinstance(e, ContentError) else "[store] path"
        found, posts = (Problem(key, str(e)),), 0
    else:
        found, posts = index.problems, len(index.posts) + len(index.future)
    problems = [
        *found,
        *check_templates(config),
        *(check_secret(config.email.secret_env, environ) if config.newsletters else ()),
        *(check_delivery(config.delivery, environ) if config.newsletters else ()),
        *_one_click(config),
        *_web(config),
    ]
    return CheckReport(posts, tuple(problems))


def _one_click(config: Config) -> list[Problem]:
    """A warning when emails can offer only the mailto unsubscribe (no RFC 8058 one-click)."""
    if not config.newsletters or config.email.unsubscribe_url or config.web:
        return []
    return [
        Problem(
            "[email] unsubscribe_url",
            "not set: emails offer only the mailto unsubscribe, without the one-click "
            "unsubscribe (RFC 8058) Gmail and Yahoo ask of bulk senders: add a [web] table "
            "and run 'publisher serve', or set it to an https page that runs "
            "'publisher unsubscribe TOKEN'",
            warning=True,
        )
    ]


_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_WEB_TEMPLATES = (
    "web/page.html.j2",
    "web/subscribe.html.j2",
    "web/message.html.j2",
    "web/unsubscribe.html.j2",
    "web/preferences.html.j2",
    "web/labels.j2",
    "confirm.html.j2",
    "confirm.txt.j2",
)


def _web(config: Config) -> list[Problem]:
    """What does not fit in [web]: plain http outside this machine, another unsubscribe
    page, nothing on the form, a page template missing or broken."""
    web = config.web
    if web is None:
        return []
    problems = []
    parts = urlsplit(web.base_url)
    if parts.scheme != "https" and parts.hostname not in _LOCAL_HOSTS:
        problems.append(
            Problem(
                "[web] base_url",
                f"{web.base_url!r} is not https: fine on this machine, but in production "
                "Gmail and Yahoo ask for an https one-click unsubscribe link, and forms and "
                "tokens travel in the clear: serve it behind TLS and set an https base_url",
                warning=True,
            )
        )
    ours = web.base_url + "unsubscribe"
    if config.email.unsubscribe_url and config.email.unsubscribe_url.rstrip("/") != ours:
        problems.append(
            Problem(
                "[email] unsubscribe_url",
                f"{config.email.unsubscribe_url!r} differs from the web app's page {ours!r}: "
                "with [web] the emails link to the web app; remove unsubscribe_url",
            )
        )
    if config.newsletters and not any(n.on_form for n in config.newsletters):
        problems.append(
            Problem(
                "[web]",
                "no newsletter is on the subscribe form (every one has on_form = false): "
                "set on_form = true on the ones readers may ask for",
                warning=True,
            )
        )
    problems += _page_templates(config)
    return problems


def _page_templates(config: Config) -> list[Problem]:
    """A missing or broken page or confirmation template, with its file and line."""
    from publisher.newsletters.templates import environment, template_problem

    env = environment(config)
    problems = []
    for name in _WEB_TEMPLATES:
        try:
            env.get_template(name)
        except Exception as e:  # any template mistake becomes a problem naming file and line
            problems.append(template_problem(config.email.templates_dir, e, name))
    return problems
