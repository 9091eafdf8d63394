"""What readers choose for themselves: ask to subscribe, confirm, leave one newsletter (and
undo it), change their preferences, leave everything.

Every function takes the checked claims of a signed token (`tokens.verify_token`) or a
checked address, does its work in one transaction, and returns what happened for a page
or the CLI to say. Leaving a newsletter cancels, in the same transaction, that reader's
messages of it still waiting in the send journal, so a send in progress skips them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.newsletters.subscribers import Address
from publisher.newsletters.tokens import BadToken, Claims
from publisher.store import Store, journal
from publisher.store import subscribers as table
from publisher.store.subscribers import EVERY_NEWSLETTER, Subscriber

__all__ = [
    "CONFIRMATION",
    "Asked",
    "Changed",
    "ask",
    "confirm",
    "leave_everything",
    "reader",
    "save_preferences",
    "undo_unsubscribe",
    "unsubscribe",
]

log = logging.getLogger(__name__)

CONFIRMATION = ":confirm"
"""The journal's newsletter id of confirmation emails (no newsletter id can be it)."""


@dataclass(frozen=True)
class Changed:
    """A reader as they are after a choice, and whether it changed anything."""

    subscriber: Subscriber
    changed: bool
    newsletters: tuple[str, ...] = ()  # the newsletters it was about


@dataclass(frozen=True)
class Asked:
    """What a subscribe request did: who, and the confirmation email to queue (if any)."""

    subscriber: Subscriber | None
    pending: tuple[str, ...]  # newsletters now waiting for the confirmation
    send_confirmation: bool


def _known(store: Store, claims: Claims) -> Subscriber:
    known = table.by_id(store, claims.subscriber_id)
    if known is None:
        raise BadToken(
            f"the token names subscriber {claims.subscriber_id}, who is not in this store: "
            "is this the right config (-c)?",
            "unknown",
        )
    return known


def _current(known: Subscriber, claims: Claims) -> None:
    """BadToken when the link is from before the reader's latest subscription to it."""
    sub = known.subscription(claims.newsletter_id)
    if sub is not None and sub.version != claims.version:
        raise BadToken(
            f"this link is from an email sent before {known.display_email} subscribed to "
            f"{claims.newsletter_id} again: use the link in a more recent email",
            "stale",
        )


def _after(store: Store, sid: int) -> Subscriber:
    found = table.by_id(store, sid)
    assert found is not None
    return found


def _leave(store: Store, known: Subscriber, newsletter_id: str, why: str, now: datetime) -> bool:
    """Mark one newsletter left (a row of its own overrides '*'); cancel its pending rows."""
    sub = known.subscription(newsletter_id)
    if sub is None or sub.status == "unsubscribed":
        return False
    table.put_subscription(store, known.id, newsletter_id, "unsubscribed", sub.version, now)
    cancelled = journal.cancel_pending(store, known.id, newsletter_id, why, now)
    log.info("subscriber %d left %s (%d pending messages cancelled)", known.id, newsletter_id,
             cancelled)  # fmt: skip
    return True


def _settle_status(store: Store, sid: int, now: datetime, why: str) -> None:
    """A person who asked for nothing any more is unsubscribed; one who came back, active."""
    sub = _after(store, sid)
    wants = sub.newsletters
    if not wants and sub.status in ("active", "pending"):
        table.set_status(store, sid, "unsubscribed", now, why)
    elif (
        wants
        and sub.status == "unsubscribed"
        and any(s.status == "active" for s in sub.subscriptions)
    ):
        table.set_status(store, sid, "active", now, why)


def reader(store: Store, claims: Claims, *, current: bool = True) -> Subscriber:
    """The reader a verified token names, as they stand now; BadToken when they are not in
    the store or (with `current`) the link is from before they subscribed again."""
    known = _known(store, claims)
    if current:
        _current(known, claims)
    return known


def unsubscribe(store: Store, claims: Claims, now: datetime) -> Changed:
    """Leave the one newsletter a verified unsubscribe token names; the others stay."""
    why = f"unsubscribe link ({claims.newsletter_id})"
    with store.transaction():
        known = _known(store, claims)
        _current(known, claims)
        changed = _leave(store, known, claims.newsletter_id, why, now)
        if changed:
            _settle_status(store, known.id, now, why)
        return Changed(_after(store, known.id), changed, (claims.newsletter_id,))


def undo_unsubscribe(store: Store, claims: Claims, now: datetime) -> Changed:
    """Take back leaving the newsletter of a verified unsubscribe token (same version: the
    link that left it still works)."""
    with store.transaction():
        known = _known(store, claims)
        _current(known, claims)
        sub = known.subscription(claims.newsletter_id)
        if sub is None or sub.status != "unsubscribed":
            return Changed(known, False, (claims.newsletter_id,))
        table.put_subscription(store, known.id, claims.newsletter_id, "active", sub.version, now)
        if known.status == "unsubscribed":
            table.set_status(store, known.id, "active", now, "undid leaving")
        return Changed(_after(store, known.id), True, (claims.newsletter_id,))


def ask(
    store: Store,
    address: Address,
    name: str,
    newsletters: Sequence[str],
    now: datetime,
    *,
    resend_after: timedelta,
) -> Asked:
    """Record a request to subscribe `address` to `newsletters`, pending until confirmed.

    Whatever the address's standing, the caller shows the same page; a confirmation email
    is due only when something now waits for it and none was queued in `resend_after`.
    Someone the site removed gets nothing. A new person's name is kept; a known person's
    name changes only from their preferences page. No commit: `confirm.request` wraps it
    with the queueing of the email in one transaction.
    """
    known = table.by_key(store, address.key)
    if known is None:
        sid = table.insert(
            store,
            key=address.key,
            email=address.email,
            display_email=address.display,
            name=name,
            newsletters=newsletters,
            status="pending",
            now=now,
            reason="asked on the web",
        )
        known = _after(store, sid)
    elif known.status == "removed":
        return Asked(known, (), False)
    else:
        rows = {s.newsletter_id: s for s in known.subscriptions}
        for newsletter_id in newsletters:
            sub = known.subscription(newsletter_id)
            if sub is not None and sub.status == "active" and known.active:
                continue
            # Its own row, else the every-newsletter one its emails' links were signed for.
            row = rows.get(newsletter_id) or rows.get(EVERY_NEWSLETTER)
            # Coming back after leaving (it, or everything) is a new version of it.
            left = row is not None and (row.status == "unsubscribed" or not known.active)
            version = 1 if row is None else row.version + left
            table.put_subscription(store, known.id, newsletter_id, "pending", version, now)
        known = _after(store, known.id)
    pending = tuple(
        n for n in newsletters if (sub := known.subscription(n)) and sub.status == "pending"
    ) or (tuple(newsletters) if known.status == "pending" else ())
    recent = known.confirm_sent is not None and now - known.confirm_sent < resend_after
    return Asked(known, pending, bool(pending) and not recent)


def forget_unconfirmed(store: Store, now: datetime, max_age: timedelta) -> int:
    """Forget the requests to subscribe made more than `max_age` ([web] confirm_max_age)
    before `now` and never confirmed; returns how many people went. Writes only when one
    has expired."""
    first = table.first_pending(store.conn)
    if first is None or first >= now - max_age:
        return 0
    with store.transaction():
        gone = table.expire_pending(store, now - max_age)
    log.info(
        "forgot %d requests to subscribe never confirmed (made before %s)", gone, now - max_age
    )
    return gone


def unconfirmed_expire(store: Store, max_age: timedelta) -> datetime | None:
    """When the oldest request waiting for its confirmation expires, if one waits."""
    first = table.first_pending(store.conn)
    return None if first is None else first + max_age


def confirm(store: Store, claims: Claims, now: datetime, source: str) -> Changed:
    """Activate what the reader of a verified confirmation token asked for and is still
    pending; record when and from which client address (`source`)."""
    with store.transaction():
        known = _known(store, claims)
        pending = [s for s in known.subscriptions if s.status == "pending"]
        if not pending and known.status != "pending":
            return Changed(known, False, ())
        for sub in pending:
            table.put_subscription(store, known.id, sub.newsletter_id, "active", sub.version, now)
        if known.status in ("pending", "unsubscribed", "bounced"):
            table.set_status(store, known.id, "active", now, "confirmed")
        table.set_confirmed(store, known.id, now, source)
        log.info("subscriber %d confirmed", known.id)
        return Changed(_after(store, known.id), True, tuple(s.newsletter_id for s in pending))


def save_preferences(
    store: Store,
    claims: Claims,
    now: datetime,
    *,
    chosen: Collection[str],
    shown: Sequence[str],
    name: str,
) -> Changed:
    """Receive exactly the `chosen` ones of the `shown` newsletters, and take `name`.

    The link came to the reader's mailbox, so ticking a newsletter needs no confirmation;
    one they had left comes back with a new version. Someone subscribed to every newsletter
    who unticks one keeps exactly those ticked (none: they have left), not those to come.
    """
    why = "preferences"
    with store.transaction():
        known = _known(store, claims)
        if known.status == "removed":
            return Changed(known, False, ())
        changed = name != known.name
        if changed:
            table.set_name(store, known.id, name)
        rows = {s.newsletter_id: s for s in known.subscriptions}
        for newsletter_id in shown:
            sub = known.subscription(newsletter_id)
            if newsletter_id in chosen:
                if sub is not None and sub.status == "active":
                    continue
                row = rows.get(newsletter_id) or rows.get(EVERY_NEWSLETTER)
                version = 1 if row is None else row.version + (row.status == "unsubscribed")
                table.put_subscription(store, known.id, newsletter_id, "active", version, now)
                changed = True
            elif _leave(store, known, newsletter_id, why, now):
                changed = True
        every = rows.get(EVERY_NEWSLETTER)
        if every is not None and every.status != "unsubscribed" and set(shown) - set(chosen):
            # They chose among every newsletter: what they ticked, not all those to come.
            own = {s.newsletter_id for s in _after(store, known.id).subscriptions}
            for newsletter_id in set(chosen) - own:
                table.put_subscription(
                    store, known.id, newsletter_id, every.status, every.version, now
                )
            table.put_subscription(
                store, known.id, EVERY_NEWSLETTER, "unsubscribed", every.version, now
            )
            changed = True
        if changed:
            if known.status == "pending" and chosen:
                table.set_status(store, known.id, "active", now, why)
            _settle_status(store, known.id, now, why)
        return Changed(_after(store, known.id), changed, tuple(chosen))


def leave_everything(store: Store, claims: Claims, now: datetime) -> Changed:
    """Leave every newsletter at once; their pending messages are cancelled."""
    why = "left everything"
    with store.transaction():
        known = _known(store, claims)
        for sub in known.subscriptions:
            if sub.status != "unsubscribed":
                table.put_subscription(
                    store, known.id, sub.newsletter_id, "unsubscribed", sub.version, now
                )
        if not known.subscriptions:
            table.put_subscription(store, known.id, EVERY_NEWSLETTER, "unsubscribed", 1, now)
        journal.cancel_pending(store, known.id, None, why, now)
        if known.status in ("active", "pending"):
            table.set_status(store, known.id, "unsubscribed", now, why)
        log.info("subscriber %d left everything", known.id)
        return Changed(_after(store, known.id), True, ())
