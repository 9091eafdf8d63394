"""The newsletter stage: plan the due issues, render them, enqueue them, deliver what is pending.

New issues are rendered before anything is written, so a broken template leaves the
posts unannounced for the next run. Recording an issue, marking its posts announced and
writing one pending journal row per active subscriber happen in a single transaction:
after a crash either all of it is there (and delivery resumes) or none of it (and the
next run plans the issue again). Once recorded, and before anything is sent, each issue
gets its archive page (`archive`), which its email links to. Pending rows of earlier
issues are sent first; their issue is rendered again from its stored post ids with the
posts as indexed now.

A dry run does all of it on a throwaway copy of the state, handing messages to nobody;
`preview` renders what would go out now, and `preview_next` each newsletter's next issue
(due or not), without recording anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.config import Config
from publisher.content.post import Post
from publisher.delivery import (
    DeliveryReport,
    OutgoingMessage,
    check_delivery,
    deliver,
    held_back,
    open_sender,
    recover_in_flight,
)
from publisher.errors import Problem, PublisherError, StoreError
from publisher.newsletters.choices import CONFIRMATION, forget_unconfirmed
from publisher.newsletters.confirm import send_confirmations
from publisher.newsletters.plan import Issue, mark_announced, plan_issues, upcoming_issue
from publisher.newsletters.subscribers import (
    Subscriber,
    active_subscribers,
    sync_config_subscribers,
)
from publisher.newsletters.tokens import load_secret
from publisher.options import DEFAULTS, RunOptions
from publisher.stopping import Stopped, interruptible
from publisher.store import Store, issues, journal, scratch_copy
from publisher.store import subscribers as table
from publisher.store.journal import PendingSend

if TYPE_CHECKING:
    from publisher.newsletters.message import SharedParts
    from publisher.newsletters.render import RenderedIssue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailReport:
    """What the newsletter stage did (or, in a dry run, would do)."""

    issues: tuple[str, ...] = ()
    queued: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    problems: tuple[Problem, ...] = ()
    archived: tuple[Path, ...] = ()  # issue pages written
    new_archives: tuple[str, ...] = ()  # newsletters whose archive index appeared


@dataclass(frozen=True)
class Preview:
    """An issue rendered, and who would receive it (nothing recorded); `due` is False for an
    issue that waits for its newsletter's next fire (`rendered.issue.created`)."""

    rendered: RenderedIssue
    audience: tuple[Subscriber, ...]
    due: bool = True


@dataclass(frozen=True)
class _Ready:
    """An issue rendered and encoded once, and the subscribers it goes to by id."""

    rendered: RenderedIssue
    shared: SharedParts
    subscribers: Mapping[int, Subscriber]


def send_newsletters(
    config: Config, posts: Sequence[Post], now: datetime, options: RunOptions = DEFAULTS
) -> MailReport:
    """Make the issues due at `now` (of the newsletters `options` names) and send what is
    pending. A state file that cannot be written is one problem naming it: nothing is sent."""
    try:
        return _send_newsletters(config, posts, now, options)
    except StoreError as e:
        return MailReport(problems=(Problem("[store] path", f"{e}; nothing sent"),))


def _send_newsletters(
    config: Config, posts: Sequence[Post], now: datetime, options: RunOptions
) -> MailReport:
    retries = config.delivery.unknown_retries
    with _open_store(config.store.path, options.dry_run) as store:
        issues = due_issues(config, store, posts, now, options.wants)
        earlier = recover_in_flight(store, now) + held_back(store, now)
        if config.web and not options.dry_run:  # requests never confirmed expire
            forget_unconfirmed(store, now, config.web.confirm_max_age)
        if not issues and not journal.due(store, now, unknown_retries=retries):
            return MailReport(problems=earlier)
        # Settings checked before anything is recorded or sent.
        try:
            secret = load_secret(config.email.secret_env, options.environ)
        except PublisherError as e:
            return MailReport(problems=(*earlier, Problem("[email] secret_env", str(e))))
        unusable = check_delivery(config.delivery, options.environ)
        if unusable:
            return MailReport(problems=(*earlier, *unusable))
        try:
            sender = (
                _Rehearsal() if options.dry_run else open_sender(config.delivery, options.environ)
            )
        except PublisherError as e:  # the checks passed a moment ago: a race with the disk
            return MailReport(problems=(*earlier, Problem("[delivery]", str(e))))
        ready, problems = _render(config, store, issues, posts, options.stop)
        queued = _enqueue(store, ready.values())
        due = journal.due(store, now, unknown_retries=retries)
        # Confirmation emails first: a reader is waiting for each.
        confirmations = [r for r in due if r.newsletter_id == CONFIRMATION]
        rows = [r for r in due if r.newsletter_id != CONFIRMATION]
        ready.update(_render_stored(config, store, rows, posts, ready, now, problems, options.stop))
        pages: tuple[Path, ...] = ()
        new_archives: tuple[str, ...] = ()
        if ready and not options.dry_run:
            # Recorded, not yet sent: the emails' links to their pages work on arrival.
            from publisher.newsletters.archive import archive_issues

            shown = [r.rendered.issue for r in ready.values()]
            archived = archive_issues(config, store, shown, posts)
            problems += archived.problems
            pages, new_archives = archived.pages, archived.new_archives
        # Confirmation emails first (a reader is waiting for each), in a pass of their own:
        # a broken confirmation template holds them back, not the newsletters.
        try:
            confirmed = send_confirmations(
                config, store, secret, now, rows=confirmations, sender=sender, options=options
            )
        except PublisherError as e:
            problems.append(Problem("[web] confirmation email", str(e)))
            confirmed = DeliveryReport()
        report = confirmed + deliver(
            config.delivery,
            store,
            _Composer(config, store, ready, secret, now),
            now,
            rows=[r for r in rows if r.issue_id in ready],
            sender=sender,
            options=options,
        )
    return MailReport(
        issues=tuple(i.id for i in issues if i.id in ready),
        queued=queued,
        delivery=report,
        problems=(*earlier, *problems, *report.problems),
        archived=pages,
        new_archives=new_archives,
    )


def preview(
    config: Config, posts: Sequence[Post], now: datetime, only: str | None = None
) -> tuple[Preview, ...]:
    """The issues due at `now` (of newsletter `only`, or every one), rendered as they would go
    out, with their audience; nothing is recorded (the state is read from a copy)."""
    from publisher.newsletters.render import render_issue

    with scratch_copy(config.store.path) as store:  # as a run would see it; nothing is kept
        issues = due_issues(config, store, posts, now, lambda n: only in (None, n))
        audience = {i.id: active_subscribers(store, i.newsletter_id) for i in issues}
    return tuple(Preview(render_issue(config, i, posts), audience[i.id]) for i in issues)


def preview_next(
    config: Config, posts: Sequence[Post], now: datetime, only: str | None = None
) -> tuple[Preview, ...]:
    """The next issue of each newsletter (or of `only`) as it stands at `now`, due or not, with
    its audience: `posts` may include posts not published yet (see `upcoming_issue`).
    Nothing is recorded (the state is read from a copy)."""
    from publisher.newsletters.render import render_issue

    with scratch_copy(config.store.path) as store:
        sync_config_subscribers(config, store, now)
        upcoming = [
            (issue, active_subscribers(store, n.id))
            for n in config.newsletters
            if only in (None, n.id)
            and (issue := upcoming_issue(config.site.tz, store, n, posts, now)) is not None
        ]
    return tuple(
        Preview(render_issue(config, issue, posts), audience, due=issue.created <= now)
        for issue, audience in upcoming
    )


def due_issues(
    config: Config,
    store: Store,
    posts: Sequence[Post],
    now: datetime,
    wanted: Callable[[str], bool] = lambda newsletter_id: True,
) -> tuple[Issue, ...]:
    """The new issues due at `now` of the `wanted` newsletters, the config's [[subscribers]]
    added to the store first."""
    sync_config_subscribers(config, store, now)
    return tuple(i for i in plan_issues(config, store, posts, now) if wanted(i.newsletter_id))


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

    where = "dry run"

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            log.debug("would send %s to %s", message.message_id, message.recipient)

    def close(self) -> None:
        pass


def _render(
    config: Config,
    store: Store,
    issues: Sequence[Issue],
    posts: Sequence[Post],
    stop: Callable[[], bool] = lambda: False,
) -> tuple[dict[str, _Ready], list[Problem]]:
    """Render and encode each new issue once; one that fails is reported and left for the
    next run."""
    # Jinja2, premailer and the MIME encoder load only when there is an issue to render.
    from publisher.newsletters.message import prepare
    from publisher.newsletters.render import render_issue

    ready: dict[str, _Ready] = {}
    problems: list[Problem] = []
    for issue in issues:
        if stop():
            raise Stopped  # nothing is recorded before every new issue is rendered
        log.info("%s: rendering", issue.id)
        try:
            with interruptible():
                rendered = render_issue(config, issue, posts)
        except PublisherError as e:
            problems.append(Problem(f"newsletter {issue.newsletter_id!r}", str(e)))
            continue
        subs = {s.id: s for s in active_subscribers(store, issue.newsletter_id)}
        ready[issue.id] = _Ready(rendered, prepare(config, rendered), subs)
    return ready, problems


def _enqueue(store: Store, ready: Iterable[_Ready]) -> int:
    """Record the issues, mark their posts announced and queue a row per subscriber each was
    rendered for (so every queued row has a message to become)."""
    queued = 0
    with store.transaction():
        for r in ready:
            issue = r.rendered.issue
            issues.record_issue(
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
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, _Ready]:
    """Render the earlier issues that still have due rows, from their stored post ids."""
    known = {p.id for p in posts}
    newsletters = {n.id for n in config.newsletters}
    found: dict[str, _Ready] = {}
    for issue_id in dict.fromkeys(r.issue_id for r in rows if r.issue_id not in ready):
        stored = issues.get_issue(store, issue_id)
        assert stored is not None  # the journal's foreign key
        shown = tuple(i for i in stored.post_ids if i in known)
        gone = _gone(newsletters, stored, shown)
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
        resumed, trouble = _render(config, store, [issue], posts, stop)
        found.update(resumed)
        problems.extend(trouble)
    return found


def _gone(newsletters: set[str], stored: issues.StoredIssue, shown: tuple[str, ...]) -> str:
    """Why an earlier issue can no longer be sent, or ''."""
    if stored.newsletter_id not in newsletters:
        return f"newsletter {stored.newsletter_id!r} is no longer in the config"
    if not shown:
        return "every post it showed has been removed"
    return ""


class _Composer:
    """Builds each row's message from its issue, encoded once, and the subscriber."""

    def __init__(
        self,
        config: Config,
        store: Store,
        ready: Mapping[str, _Ready],
        secret: bytes,
        now: datetime,
    ) -> None:
        from publisher.newsletters.message import address, reader_tokens  # only when due

        self.store = store
        self.ready = ready
        self.secret = secret
        self.now = now
        self.max_age: timedelta = config.email.token_max_age
        self.address = address
        self.tokens = reader_tokens

    def __call__(self, row: PendingSend) -> OutgoingMessage | None:
        ready = self.ready[row.issue_id]
        subscriber = ready.subscribers.get(row.subscriber_id)
        if subscriber is None:
            return None  # left (or bounced) since the issue was queued
        shared = ready.shared
        # Asked again right before sending: the reader may have left it (on the web) while
        # this run was sending the rows before theirs.
        if not table.receives(self.store, subscriber.id, shared.newsletter_id):
            return None
        unsubscribe, preferences = self.tokens(
            self.secret, subscriber, shared.newsletter_id, self.now, self.max_age
        )
        return self.address(shared, subscriber, unsubscribe, preferences)
