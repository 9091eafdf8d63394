"""Subscribers and what they subscribe to. People who leave keep their row (status, time).

A subscriber is keyed by the case-folded address, so `Kim@Example.com` and
`kim@example.com` are one person. A subscription to newsletter `*` means every
newsletter, including ones added later. Times are ISO 8601 in UTC. Nothing here
commits: wrap calls in `store.transaction()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from publisher.store import Store

Status = Literal["active", "unsubscribed", "removed", "bounced"]
STATUSES: tuple[Status, ...] = ("active", "unsubscribed", "removed", "bounced")
EVERY_NEWSLETTER = "*"

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,        -- the address case-folded: one person per address
    email TEXT NOT NULL,             -- for the wire: ASCII, domain in punycode
    display_email TEXT NOT NULL,     -- for people: the domain in Unicode
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'unsubscribed', 'removed', 'bounced')),
    created TEXT NOT NULL,
    changed TEXT NOT NULL,           -- when the status last changed
    reason TEXT NOT NULL DEFAULT ''  -- why it did: the bounce reply, the newsletter left...
);
CREATE TABLE IF NOT EXISTS subscriptions (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    newsletter_id TEXT NOT NULL,     -- '*' for every newsletter
    PRIMARY KEY (subscriber_id, newsletter_id)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Subscriber:
    """One person on the list; `email` is the address to send to, `newsletters` may hold '*'."""

    id: int
    email: str
    display_email: str
    name: str
    status: Status
    newsletters: tuple[str, ...]
    created: datetime
    changed: datetime
    reason: str = ""

    @property
    def active(self) -> bool:
        """True when this person still receives mail."""
        return self.status == "active"


_COLUMNS = "id, email, display_email, name, status, created, changed, reason"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _subscriber(row: tuple[object, ...], newsletters: tuple[str, ...]) -> Subscriber:
    sid, email, display, name, status, created, changed, reason = row
    return Subscriber(
        id=int(str(sid)),
        email=str(email),
        display_email=str(display),
        name=str(name),
        status=status,  # type: ignore[arg-type]  # the CHECK constraint keeps it one of STATUSES
        newsletters=newsletters,
        created=datetime.fromisoformat(str(created)),
        changed=datetime.fromisoformat(str(changed)),
        reason=str(reason),
    )


def _newsletters_of(store: Store, ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    wanted = list(ids)
    found: dict[int, list[str]] = {}
    query = "SELECT subscriber_id, newsletter_id FROM subscriptions"
    if len(wanted) <= 100:
        # a few people: ask for theirs; many: one pass over the whole table is cheaper
        query += f" WHERE subscriber_id IN ({', '.join('?' * len(wanted))})"
    args = wanted if len(wanted) <= 100 else []
    for sid, newsletter_id in store.conn.execute(query + " ORDER BY newsletter_id", args):
        found.setdefault(sid, []).append(newsletter_id)
    return {i: tuple(found.get(i, ())) for i in wanted}


def by_key(store: Store, key: str) -> Subscriber | None:
    """The subscriber with this case-folded address, or None."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM subscribers WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    return _subscriber(row, _newsletters_of(store, [row[0]])[row[0]])


def by_id(store: Store, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, or None."""
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,)
    ).fetchone()
    if row is None:
        return None
    return _subscriber(row, _newsletters_of(store, [row[0]])[row[0]])


def every(store: Store, status: Status | None = None) -> tuple[Subscriber, ...]:
    """Every subscriber (or those with `status`), oldest first."""
    where, args = ("WHERE status = ?", (status,)) if status else ("", ())
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM subscribers {where} ORDER BY id", args)
    rows_list = rows.fetchall()
    subs = _newsletters_of(store, [r[0] for r in rows_list])
    return tuple(_subscriber(r, subs[r[0]]) for r in rows_list)


def active_for(store: Store, newsletter_id: str) -> tuple[Subscriber, ...]:
    """Active subscribers of this newsletter (directly or through '*'), by id."""
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers WHERE status = 'active' AND id IN "
        "(SELECT subscriber_id FROM subscriptions WHERE newsletter_id IN (?, ?)) ORDER BY id",
        (newsletter_id, EVERY_NEWSLETTER),
    ).fetchall()
    subs = _newsletters_of(store, [r[0] for r in rows])
    return tuple(_subscriber(r, subs[r[0]]) for r in rows)


def insert(
    store: Store,
    *,
    key: str,
    email: str,
    display_email: str,
    name: str,
    newsletters: Iterable[str],
    status: Status,
    now: datetime,
    reason: str = "",
) -> int:
    """Add a new subscriber; returns its id."""
    cursor = store.conn.execute(
        "INSERT INTO subscribers (key, email, display_email, name, status, created, changed, "
        "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (key, email, display_email, name, status, _stamp(now), _stamp(now), reason),
    )
    sid = cursor.lastrowid
    assert sid is not None
    add_newsletters(store, sid, newsletters)
    return sid


def add_newsletters(store: Store, subscriber_id: int, newsletters: Iterable[str]) -> None:
    """Subscribe to these newsletters too ('*': every one)."""
    store.conn.executemany(
        "INSERT OR IGNORE INTO subscriptions (subscriber_id, newsletter_id) VALUES (?, ?)",
        [(subscriber_id, n) for n in newsletters],
    )


def set_name(store: Store, subscriber_id: int, name: str) -> None:
    """Change a subscriber's name."""
    store.conn.execute("UPDATE subscribers SET name = ? WHERE id = ?", (name, subscriber_id))


def set_status(
    store: Store, subscriber_id: int, status: Status, now: datetime, reason: str = ""
) -> None:
    """Change a subscriber's status, recording when and why."""
    store.conn.execute(
        "UPDATE subscribers SET status = ?, changed = ?, reason = ? WHERE id = ?",
        (status, _stamp(now), reason, subscriber_id),
    )
