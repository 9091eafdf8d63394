"""Subscribers, the editor's side: add and remove them; who receives what (CSV files in and
out are in `subscriber_csv`).

Addresses are checked with `email-validator` (syntax and internationalised domains,
sent as punycode); the same address in another case is the same person. Removing,
unsubscribing or bouncing keeps the record with its status and time, so a later import
cannot quietly subscribe again someone who left (everything, or one newsletter): only
`add --resubscribe` does. What readers do themselves (subscribe and confirm, leave one
newsletter, change their preferences) is in `choices`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from publisher.config import Config
from publisher.config.values import usable_address
from publisher.content.clean import one_line
from publisher.errors import PublisherError
from publisher.store import Store
from publisher.store import subscribers as table
from publisher.store.subscribers import EVERY_NEWSLETTER, Status, Subscriber

__all__ = [
    "Address",
    "Subscriber",
    "active_subscribers",
    "add_subscriber",
    "check_address",
    "mark_bounced",
    "newsletter_counts",
    "remove_subscriber",
    "standing",
    "sync_config_subscribers",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Address:
    """A checked address: `email` for the wire (ASCII), `display` for people, `key` for identity."""

    email: str
    display: str
    key: str


def check_address(text: str) -> Address:
    """A checked address; ValueError with the reason when it is not a usable one."""
    checked = usable_address(text)  # the rule the config's addresses follow
    wire = checked.ascii_email or checked.normalized
    return Address(email=wire, display=checked.normalized, key=wire.casefold())


def _newsletter_ids(config: Config, ids: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(i for i in ids if i))
    for newsletter_id in wanted:
        if newsletter_id != EVERY_NEWSLETTER:
            config.newsletter(newsletter_id)  # ConfigError naming the known ones
    return wanted or (EVERY_NEWSLETTER,)


def standing(sub: Subscriber) -> str:
    """Where someone who is not active stands, and since when, for messages."""
    return f"{sub.display_email} is {sub.status} since {sub.changed.date().isoformat()}"


def add_subscriber(
    config: Config,
    store: Store,
    email: str,
    now: datetime,
    *,
    name: str = "",
    newsletters: Sequence[str] = (),
    resubscribe: bool = False,
) -> Subscriber:
    """Subscribe `email` (to `newsletters`, or every one); refuses someone who left (them,
    or one of these newsletters) unless told they asked to come back."""
    try:
        address = check_address(email)
    except ValueError as e:
        raise PublisherError(f"{e}: check the spelling") from e
    ids = _newsletter_ids(config, newsletters)
    name = one_line(name)
    with store.transaction():
        known = table.by_key(store, address.key)
        if known is None:
            sid = table.insert(
                store,
                key=address.key,
                email=address.email,
                display_email=address.display,
                name=name,
                newsletters=ids,
                status="active",
                now=now,
            )
        else:
            sid = known.id
            _add_to_known(store, known, ids, now, resubscribe=resubscribe)
            if name:
                table.set_name(store, sid, name)
        added = table.by_id(store, sid)
    assert added is not None
    return added


def _add_to_known(
    store: Store, known: Subscriber, ids: tuple[str, ...], now: datetime, *, resubscribe: bool
) -> None:
    """Make `ids` active for someone already in the store (the editor vouches for them)."""
    back = known.status in ("unsubscribed", "removed", "bounced")
    if back and not resubscribe:
        raise PublisherError(
            f"{standing(known)}: pass --resubscribe if they asked to subscribe again"
        )
    rows = {s.newsletter_id: s for s in known.subscriptions}
    wanted = (
        tuple(rows) if resubscribe and EVERY_NEWSLETTER in ids else ()
    ) + ids  # '*' brings back every newsletter they left
    for newsletter_id in dict.fromkeys(wanted):
        # Its own row, else the every-newsletter one its emails' links were signed for.
        row = rows.get(newsletter_id) or rows.get(EVERY_NEWSLETTER)
        if row is None:
            table.put_subscription(store, known.id, newsletter_id, "active", 1, now)
        elif row.status == "unsubscribed" or back:
            if row.status == "unsubscribed" and not resubscribe:
                raise PublisherError(
                    f"{known.display_email} left {newsletter_id} on "
                    f"{(row.changed or known.changed).date().isoformat()}: pass --resubscribe "
                    "if they asked to subscribe again"
                )
            # A new version: links in emails from before they left no longer unsubscribe.
            table.put_subscription(store, known.id, newsletter_id, "active", row.version + 1, now)
        elif row.status == "pending" or row.newsletter_id != newsletter_id:
            # Confirmed by the editor, or asked for by name beside every newsletter.
            table.put_subscription(store, known.id, newsletter_id, "active", row.version, now)
    if back:  # what they kept while away starts a new version too
        for row in known.subscriptions:
            if row.newsletter_id not in wanted and row.status == "active":
                table.put_subscription(
                    store, known.id, row.newsletter_id, "active", row.version + 1, now
                )
    if known.status != "active":
        table.set_status(
            store, known.id, "active", now, "subscribed again" if back else "added by the site"
        )


def remove_subscriber(store: Store, email: str, now: datetime) -> Subscriber:
    """Mark the subscriber with this address removed (the record stays); error if unknown."""
    try:
        key = check_address(email).key
    except ValueError:
        key = email.strip().casefold()
    with store.transaction():
        known = table.by_key(store, key)
        if known is None:
            raise PublisherError(
                f"no subscriber has the address {email.strip()!r}: see 'publisher subscribers list'"
            )
        if known.active:
            table.set_status(store, known.id, "removed", now, "removed by the site")
        removed = table.by_id(store, known.id)
    assert removed is not None
    return removed


def active_subscribers(store: Store, newsletter_id: str) -> tuple[Subscriber, ...]:
    """The people who receive this newsletter now, by id."""
    return table.active_for(store, newsletter_id)


def list_subscribers(store: Store, status: Status | None = None) -> tuple[Subscriber, ...]:
    """Every subscriber, or those with `status`, oldest first."""
    return table.every(store, status)


def mark_bounced(store: Store, subscriber_id: int, reply: str, now: datetime) -> None:
    """Stop sending to a subscriber whose server refused the address for good; no commit."""
    table.set_status(store, subscriber_id, "bounced", now, one_line(reply)[:500])


def newsletter_counts(store: Store, newsletter_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each newsletter, how many subscribers are active, pending, unsubscribed, bounced
    (and removed) with it."""
    counts = {n: dict.fromkeys(("active", "pending", "unsubscribed", "bounced", "removed"), 0)
              for n in newsletter_ids}  # fmt: skip
    for sub in table.every(store):
        for n in newsletter_ids:
            state = sub.state(n)
            if state:
                counts[n][state] += 1
    return counts


def sync_config_subscribers(config: Config, store: Store, now: datetime) -> int:
    """Add the config's `[[subscribers]]` not yet in the store (never re-adding leavers).

    Writes only when one is missing (normally the first run), in its own transaction;
    returns how many were added.
    """
    missing = []
    for entry in config.subscribers:
        address = check_address(entry.email)
        if table.by_key(store, address.key) is None:
            missing.append((entry, address))
    if not missing:
        return 0
    with store.transaction():
        for entry, address in missing:
            table.insert(
                store,
                key=address.key,
                email=address.email,
                display_email=address.display,
                name=one_line(entry.name),
                newsletters=_newsletter_ids(config, entry.newsletters),
                status="active",
                now=now,
                reason="from the config",
            )
    log.info("added %d subscribers from the config", len(missing))
    return len(missing)
