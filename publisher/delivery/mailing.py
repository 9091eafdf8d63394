"""From due newsletters to sent messages: plan, render, enqueue in one transaction, deliver.

New issues are rendered before anything is written, so a broken template leaves the
posts unannounced for the next run. Recording an issue, marking its posts announced and
writing one pending journal row per active subscriber happen in a single transaction:
after a crash either all of it is there (and delivery resumes) or none of it (and the
next run plans the issue again). Pending rows of earlier issues are sent first; their
issue is rendered again from its stored post ids with the posts as indexed now.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.config import Config
from publisher.content.post import Post
from publisher.delivery import (
    DeliveryReport,
    Progress,
    check_delivery,
    deliver,
    open_sender,
)
from publisher.errors import Problem, PublisherError
from publisher.newsletters import Issue, mark_announced, plan_issues
from publisher.outgoing import OutgoingMessage
from publisher.store import Store, journal, scratch_copy
from publisher.store.journal import PendingSend
from publisher.subscribers import (
    Subscriber,
    active_subscribers,
    mark_bounced,
    sync_config_subscribers,
)
from publisher.tokens import load_secret

if TYPE_CHECKING:
    from publisher.digest import RenderedIssue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailReport:
    """What the newsletter stage did (or, in a dry run, would do)."""

    issues: tuple[str, ...] = ()
    queued: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class _Ready:
    rendered: RenderedIssue
    subscribers: Mapping[int, Subscriber]


def send_newsletters(
    config: Config,
    posts: Sequence[Post],
    now: datetime,
    *,
    only: Collection[str] | None = None,
    dry_run: bool = False,
    stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
    environ: Mapping[str, str] = os.environ,
) -> MailReport:
    """Make the issues due at `now` (of `only` these newsletters) and send what is pending.

    A dry run does all of it on a scratch copy of the state, handing messages to nobody.
    """
    with _open_store(config.store.path, dry_run) as store:
        issues = due_issues(config, store, posts, now, only)
        if not issues and not journal.due(store, now):
            return MailReport()
        # Settings checked before anything is recorded or sent.
        try:
            secret = load_secret(config, environ)
        except PublisherError as e:
            return MailReport(problems=(Problem("[email] secret_env", str(e)),))
        unusable = check_delivery(config.delivery, environ)
        if unusable:
            return MailReport(problems=tuple(unusable))
        try:
            sender = None if dry_run else open_sender(config.delivery, environ)
        except PublisherError as e:  # the checks passed a moment ago: a race with the disk
            return MailReport(problems=(Problem("[delivery]", str(e)),))
        ready, problems = _render(config, store, issues, posts)
        queued = _enqueue(store, ready.values())
        rows = journal.due(store, now)
        ready.update(_render_stored(config, store, rows, posts, ready, now, problems))
        report = deliver(
            config.delivery,
            store,
            _Composer(config, ready, secret, now),
            now,
            rows=[r for r in rows if r.issue_id in ready],
            bounce=mark_bounced,
            sender=_Rehearsal() if sender is None else sender,
            stop=stop,
            progress=progress,
        )
    return MailReport(
        issues=tuple(i.id for i in issues if i.id in ready),
        queued=queued,
        delivery=report,
        problems=tuple(problems) + report.problems,
    )


def due_issues(
    config: Config,
    store: Store,
    posts: Sequence[Post],
    now: datetime,
    only: Collection[str] | None = None,
) -> tuple[Issue, ...]:
    """The new issues due at `now` (of `only` these newsletters), the config's
    [[subscribers]] added to the store first."""
    sync_config_subscribers(config, store, now)
    planned = plan_issues(config, store, posts, now)
    return tuple(i for i in planned if only is None or i.newsletter_id in only)


@contextmanager
def _open_store(path: Path, dry_run: bool) -> Iterator[Store]:
    """The state file, or for a dry run a throwaway copy of it (the file is only read)."""
    if not dry_run:
        with Store.open(path) as store:
            yield store
        return
    with scratch_copy(path) as store:
        yield store


class _Rehearsal:
    """A dry run's destination: takes every message, sends none."""

    def send(self, message: OutgoingMessage) -> None:
        log.debug("would send %s to %s", message.message_id, message.recipient)

    def close(self) -> None:
        pass


def _render(
    config: Config, store: Store, issues: Sequence[Issue], posts: Sequence[Post]
) -> tuple[dict[str, _Ready], list[Problem]]:
    """Render each new issue once; one that fails is reported and left for the next run."""
    # Jinja2 and the renderer load only when there is an issue to render (not on a quiet run).
    from publisher.digest import render_issue

    ready: dict[str, _Ready] = {}
    problems: list[Problem] = []
    for issue in issues:
        try:
            rendered = render_issue(config, issue, posts)
        except PublisherError as e:
            problems.append(Problem(f"newsletter {issue.newsletter_id!r}", str(e)))
            continue
        subs = {s.id: s for s in active_subscribers(store, issue.newsletter_id)}
        ready[issue.id] = _Ready(rendered, subs)
    return ready, problems


def _enqueue(store: Store, ready: Iterable[_Ready]) -> int:
    """Record the issues, mark their posts announced and queue a row per subscriber each was
    rendered for (so every queued row has a message to become)."""
    queued = 0
    with store.transaction():
        for r in ready:
            issue = r.rendered.issue
            journal.record_issue(
                store,
                issue_id=issue.id,
                newsletter_id=issue.newsletter_id,
                post_ids=issue.post_ids,
                created=issue.created,
                more_ids=issue.more_ids,
            )
            mark_announced(store, issue)
            subs = r.subscribers.values()
            queued += journal.enqueue(store, issue.id, [(s.id, s.email) for s in subs])
            log.info(
                "%s: %d posts, queued for %d subscribers", issue.id, len(issue.post_ids), len(subs)
            )
    return queued


def _render_stored(
    config: Config,
    store: Store,
    rows: Sequence[PendingSend],
    posts: Sequence[Post],
    ready: Mapping[str, _Ready],
    now: datetime,
    problems: list[Problem],
) -> dict[str, _Ready]:
    """Render the earlier issues that still have due rows, from their stored post ids."""
    known = {p.id for p in posts}
    found: dict[str, _Ready] = {}
    for issue_id in dict.fromkeys(r.issue_id for r in rows if r.issue_id not in ready):
        stored = journal.get_issue(store, issue_id)
        assert stored is not None  # the journal's foreign key
        shown = tuple(i for i in stored.post_ids if i in known)
        gone = _gone(config, stored, shown)
        if gone:
            with store.transaction():
                for row in (r for r in rows if r.issue_id == issue_id):
                    journal.mark_cancelled(store, row, gone, now)
            problems.append(Problem(f"issue {issue_id}", f"not sent: {gone}", warning=True))
            continue
        issue = Issue(
            id=stored.id,
            newsletter_id=stored.newsletter_id,
            post_ids=shown,
            created=stored.created,
            more_ids=stored.more_ids,
        )
        resumed, trouble = _render(config, store, [issue], posts)
        found.update(resumed)
        problems.extend(trouble)
    return found


def _gone(config: Config, stored: journal.StoredIssue, shown: tuple[str, ...]) -> str:
    """Why an earlier issue can no longer be sent, or ''."""
    if stored.newsletter_id not in {n.id for n in config.newsletters}:
        return f"newsletter {stored.newsletter_id!r} is no longer in the config"
    if not shown:
        return "every post it showed has been removed"
    return ""


class _Composer:
    """Builds each row's message from its issue, rendered once, and the subscriber."""

    def __init__(
        self, config: Config, ready: Mapping[str, _Ready], secret: bytes, now: datetime
    ) -> None:
        from publisher.messages import personalize  # loaded only when messages are due

        self.config = config
        self.ready = ready
        self.secret = secret
        self.now = now
        self.personalize = personalize

    def __call__(self, row: PendingSend) -> OutgoingMessage | None:
        ready = self.ready[row.issue_id]
        subscriber = ready.subscribers.get(row.subscriber_id)
        if subscriber is None:
            return None  # left (or bounced) since the issue was queued
        return self.personalize(self.config, ready.rendered, subscriber, self.secret, self.now)
