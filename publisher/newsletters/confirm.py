"""The confirmation email of double opt-in: queued in the send journal, sent once.

A subscribe request (the web form, or `subscribers add --pending`) queues one message in
the same journal as the issues, under the newsletter id `choices.CONFIRMATION`, in the
transaction that records the request; the outbox or SMTP server takes it like any other
message, exactly once. The web app sends it at once when no run holds the lock; otherwise
the run sends it, before the newsletters. The link in it is a `c` token signed at the
request's time and valid for `[web] confirm_max_age`, after which the request expires.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from publisher.config import Config
from publisher.content.clean import one_line
from publisher.content.urls import site_url
from publisher.delivery import (
    DeliveryReport,
    OutgoingMessage,
    Sender,
    deliver,
    recover_in_flight,
)
from publisher.errors import DeliveryError
from publisher.lock import run_lock
from publisher.newsletters.choices import CONFIRMATION, Asked, ask
from publisher.newsletters.subscribers import Address
from publisher.newsletters.tokens import NO_NEWSLETTER, make_token
from publisher.options import DEFAULTS, RunOptions
from publisher.store import Store, issues, journal
from publisher.store import subscribers as table
from publisher.store.journal import PendingSend

log = logging.getLogger(__name__)


def queue_confirmation(
    store: Store, subscriber_id: int, email: str, newsletters: Sequence[str], now: datetime
) -> str:
    """Queue the confirmation email of a request for `newsletters`, inside the caller's
    transaction; returns its journal issue id."""
    issue_id = f"confirm-{subscriber_id}-{int(now.timestamp() * 1_000_000)}"
    issues.record_issue(
        store, issue_id=issue_id, newsletter_id=CONFIRMATION, post_ids=newsletters, created=now
    )
    journal.enqueue(store, issue_id, [(subscriber_id, email)])
    table.set_confirm_sent(store, subscriber_id, now)
    return issue_id


def request(
    config: Config,
    store: Store,
    address: Address,
    name: str,
    newsletters: Sequence[str],
    now: datetime,
    *,
    resend_after: timedelta,
) -> Asked:
    """Record a subscribe request and, in the same transaction, queue its confirmation
    email when one is due (`choices.ask` says when)."""
    with store.transaction():
        asked = ask(store, address, name, newsletters, now, resend_after=resend_after)
        if asked.send_confirmation and asked.subscriber is not None:
            sub = asked.subscriber
            queue_confirmation(store, sub.id, sub.email, asked.pending, now)
    return asked


def send_now(
    config: Config, secret: bytes, now: datetime, options: RunOptions = DEFAULTS
) -> DeliveryReport | None:
    """Send the confirmation emails due now, unless a run holds the lock (it sends them,
    or the next one does): None then."""
    with Store.open(config.store.path) as store:
        # Looked at before taking the lock: a cron run finding it held skips its minute.
        due = journal.due(store, now, unknown_retries=config.delivery.unknown_retries)
        if not any(r.newsletter_id == CONFIRMATION for r in due):
            return DeliveryReport()
        with run_lock(config.store.path) as held:
            if not held:
                return None
            return send_confirmations(config, store, secret, now, options=options)


def confirm_url(config: Config, secret: bytes, subscriber_id: int, asked: datetime) -> str:
    """The link that confirms a request made at `asked` (needs [web])."""
    assert config.web is not None
    token = make_token(
        secret, subscriber_id, NO_NEWSLETTER, asked, config.web.confirm_max_age, kind="c"
    )
    return f"{config.web.base_url}confirm/{token}"


def confirmation_sender(config: Config, newsletters: Sequence[str]) -> str:
    """From: of a confirmation email: [web] sender, else the first newsletter's asked for."""
    if config.web is not None and config.web.sender:
        return config.web.sender
    known = {n.id: n for n in config.newsletters}
    first = next((known[n] for n in newsletters if n in known), None)
    return (first or config.newsletters[0]).sender


class Confirmations:
    """Builds the confirmation email of a journal row, or None when there is nothing left
    to confirm (confirmed meanwhile, expired, or forgotten)."""

    def __init__(self, config: Config, store: Store, secret: bytes, now: datetime) -> None:
        self.config = config
        self.store = store
        self.secret = secret
        self.now = now

    def __call__(self, row: PendingSend) -> OutgoingMessage | None:
        web = self.config.web
        issue = issues.get_issue(self.store, row.issue_id)
        sub = table.by_id(self.store, row.subscriber_id)
        if web is None or issue is None or sub is None:
            return None
        if self.now > issue.created + web.confirm_max_age:
            return None
        asked = [n for n in issue.post_ids if (s := sub.subscription(n)) and s.status == "pending"]
        if not asked and sub.status != "pending":
            return None
        return self._message(row, sub, asked or list(issue.post_ids), issue.created)

    def _message(
        self, row: PendingSend, sub: table.Subscriber, asked: list[str], created: datetime
    ) -> OutgoingMessage:
        from publisher.newsletters.message import standalone
        from publisher.newsletters.templates import (
            environment,
            inline_css,
            load_labels,
            template_problem,
        )

        config = self.config
        assert config.web is not None
        lang = config.site.language.split("-")[0].lower()
        labels = load_labels(config, lang)
        known = {n.id: n for n in config.newsletters}
        shown = [known[n] for n in asked if n in known] or [
            n for n in config.newsletters if n.on_form
        ]
        context: dict[str, Any] = {
            "site": config.site,
            "lang": lang,
            "labels": labels,
            "newsletters": shown,
            "confirm_url": confirm_url(config, self.secret, sub.id, created),
            "expires": created + config.web.confirm_max_age,
            "subscriber_email": sub.display_email,
            "logo_url": site_url(config.site.logo, config.site.url) if config.site.logo else "",
            "preheader": labels["confirm_body"],
            "issue_url": "",  # no archive page: it is not an issue
            "contact_line": one_line(config.email.contact_line),
        }
        context["subject"] = labels["confirm_subject"] % config.site.title
        env = environment(config)
        try:
            html = inline_css(env.get_template("confirm.html.j2").render(context))
            text = env.get_template("confirm.txt.j2").render(context)
        except Exception as e:  # a template mistake: the rows wait for a fixed template
            problem = template_problem(config.email.templates_dir, e, "confirm.html.j2")
            raise DeliveryError(f"cannot render the confirmation email: {problem}") from e
        sender = confirmation_sender(config, asked)
        domain = parseaddr(sender)[1].rpartition("@")[2].encode("idna").decode("ascii")
        return standalone(
            sender=sender,
            to_name=sub.name,
            to_email=sub.email,
            subject=str(context["subject"]),
            text=text,
            html_body=html,
            when=created.astimezone(config.site.tz),
            language=config.site.language,
            message_id=f"<{row.issue_id}@{domain}>",
            issue_id=row.issue_id,
            subscriber_id=sub.id,
        )


def send_confirmations(
    config: Config,
    store: Store,
    secret: bytes,
    now: datetime,
    *,
    rows: Sequence[PendingSend] | None = None,
    sender: Sender | None = None,
    options: RunOptions = DEFAULTS,
) -> DeliveryReport:
    """Send the confirmation emails due now, or those of `rows` (the caller holds the run
    lock). Rows an earlier pass left in flight are recovered first, as a run does."""
    recovered = recover_in_flight(store, now)
    if rows is None:
        retries = config.delivery.unknown_retries
        due = journal.due(store, now, unknown_retries=retries)
        rows = [r for r in due if r.newsletter_id == CONFIRMATION]
    if not rows:
        return DeliveryReport(problems=recovered)
    compose = Confirmations(config, store, secret, now)
    report = deliver(
        config.delivery, store, compose, now, rows=rows, sender=sender, options=options
    )
    return DeliveryReport(problems=recovered) + report
