"""Subscribers and what they subscribe to. People who leave keep their row (status, time).

A subscriber is keyed by the case-folded address, so `Kim@Example.com` and
`kim@example.com` are one person. Their own status says whether they may be mailed at
all (`pending` until they confirm their address, `removed` by the site, `bounced`); each
subscription has a status of its own (`active`, `pending` until confirmed, or
`unsubscribed`), so leaving one newsletter keeps the others. A subscription to
newsletter `*` means every newsletter, including ones added later; a row for one
newsletter overrides it (`*` active and `breaking` unsubscribed: everything but
breaking).

Each subscription has a `version`, raised when it comes back after it was left: a link
signed for an older version (an email sent before the reader subscribed again) no longer
unsubscribes them.

Times are ISO 8601 in UTC. Nothing here commits: wrap calls in `store.transaction()`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import sqlite3

    from publisher.store import Store

Status = Literal["active", "pending", "unsubscribed", "removed", "bounced"]
STATUSES: tuple[Status, ...] = ("active", "pending", "unsubscribed", "removed", "bounced")
SubscriptionStatus = Literal["active", "pending", "unsubscribed"]
EVERY_NEWSLETTER = "*"

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,        -- the address case-folded: one person per address
    email TEXT NOT NULL,             -- for the wire: ASCII, domain in punycode
    display_email TEXT NOT NULL,     -- for people: the domain in Unicode
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'pending', 'unsubscribed', 'removed', 'bounced')),
    created TEXT NOT NULL,
    changed TEXT NOT NULL,           -- when the status last changed
    reason TEXT NOT NULL DEFAULT '', -- why it did: the bounce reply, the newsletter left...
    confirmed TEXT NOT NULL DEFAULT '',       -- when they confirmed the address ('' never)
    confirmed_from TEXT NOT NULL DEFAULT '',  -- the client address that confirmed it
    confirm_sent TEXT NOT NULL DEFAULT ''     -- when the last confirmation email was queued
);
CREATE TABLE IF NOT EXISTS subscriptions (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    newsletter_id TEXT NOT NULL,     -- '*' for every newsletter
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'pending', 'unsubscribed')),
    version INTEGER NOT NULL DEFAULT 1,  -- raised each time it comes back after leaving
    changed TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (subscriber_id, newsletter_id)
) WITHOUT ROWID;
"""

# Columns added since the first state files: (table, column, declaration).
_ADDED = (
    ("subscribers", "confirmed", "TEXT NOT NULL DEFAULT ''"),
    ("subscribers", "confirmed_from", "TEXT NOT NULL DEFAULT ''"),
    ("subscribers", "confirm_sent", "TEXT NOT NULL DEFAULT ''"),
    ("subscriptions", "status", "TEXT NOT NULL DEFAULT 'active' CHECK "
     "(status IN ('active', 'pending', 'unsubscribed'))"),
    ("subscriptions", "version", "INTEGER NOT NULL DEFAULT 1"),
    ("subscriptions", "changed", "TEXT NOT NULL DEFAULT ''"),
)  # fmt: skip


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a state file made by an earlier version up to SCHEMA, keeping every row."""
    if not _needs_migration(conn):
        return
    # The subscribers table's CHECK cannot be altered in place: the table is copied into
    # one made from SCHEMA, with foreign keys off while the old one is dropped.
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _needs_migration(conn):  # another process may have done it meanwhile
                for table, column, declaration in _ADDED:
                    if column not in _columns(conn, table):
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                if "'pending'" not in _table_sql(conn, "subscribers"):
                    create = SCHEMA.split("CREATE TABLE IF NOT EXISTS subscriptions")[0]
                    conn.execute(
                        create.replace("IF NOT EXISTS subscribers", "subscribers_new")
                        .rstrip()
                        .rstrip(";")
                    )
                    columns = ", ".join(_columns(conn, "subscribers"))
                    conn.execute(
                        f"INSERT INTO subscribers_new ({columns}) SELECT {columns} FROM subscribers"
                    )
                    conn.execute("DROP TABLE subscribers")
                    conn.execute("ALTER TABLE subscribers_new RENAME TO subscribers")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


def _needs_migration(conn: sqlite3.Connection) -> bool:
    return any(c not in _columns(conn, t) for t, c, _ in _ADDED) or "'pending'" not in _table_sql(
        conn, "subscribers"
    )


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _table_sql(conn: sqlite3.Connection, table: str) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    return str(row[0]) if row else ""


@dataclass(frozen=True)
class Subscription:
    """One newsletter (or '*') a subscriber asked for, and where that stands."""

    newsletter_id: str
    status: SubscriptionStatus
    version: int
    changed: datetime | None


@dataclass(frozen=True)
class Subscriber:
    """One person on the list; `email` is the address to send to."""

    id: int
    email: str
    display_email: str
    name: str
    status: Status
    subscriptions: tuple[Subscription, ...]
    created: datetime
    changed: datetime
    reason: str = ""
    confirmed: datetime | None = None
    confirmed_from: str = ""
    confirm_sent: datetime | None = None

    @property
    def active(self) -> bool:
        """True when this person may be mailed at all."""
        return self.status == "active"

    @property
    def newsletters(self) -> tuple[str, ...]:
        """The newsletter ids (and '*') they asked for and did not leave, by id."""
        return tuple(s.newsletter_id for s in self.subscriptions if s.status != "unsubscribed")

    def subscription(self, newsletter_id: str) -> Subscription | None:
        """Their subscription to this newsletter: its own row, else the '*' row, else None."""
        found = {s.newsletter_id: s for s in self.subscriptions}
        return found.get(newsletter_id) or found.get(EVERY_NEWSLETTER)

    def receives(self, newsletter_id: str) -> bool:
        """True when this newsletter is sent to them now."""
        sub = self.subscription(newsletter_id)
        return self.active and sub is not None and sub.status == "active"

    def state(self, newsletter_id: str) -> str:
        """Where they stand with one newsletter: active, pending, unsubscribed, bounced,
        removed, or '' when they never asked for it."""
        sub = self.subscription(newsletter_id)
        if sub is None:
            return ""
        if sub.status == "unsubscribed":
            return "unsubscribed"
        if "pending" in (self.status, sub.status):  # asked (again), not yet confirmed
            return "pending"
        return self.status if self.status in ("bounced", "removed", "unsubscribed") else "active"


_COLUMNS = (
    "id, email, display_email, name, status, created, changed, reason, confirmed, "
    "confirmed_from, confirm_sent"
)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def _subscriber(row: tuple[object, ...], subscriptions: tuple[Subscription, ...]) -> Subscriber:
    sid, email, display, name, status, created, changed, reason, confirmed, source, sent = row
    return Subscriber(
        id=int(str(sid)),
        email=str(email),
        display_email=str(display),
        name=str(name),
        status=status,  # type: ignore[arg-type]  # the CHECK constraint keeps it one of STATUSES
        subscriptions=subscriptions,
        created=datetime.fromisoformat(str(created)),
        changed=datetime.fromisoformat(str(changed)),
        reason=str(reason),
        confirmed=_moment(confirmed),
        confirmed_from=str(source),
        confirm_sent=_moment(sent),
    )


def _subscriptions_of(store: Store, ids: Iterable[int]) -> dict[int, tuple[Subscription, ...]]:
    wanted = list(ids)
    found: dict[int, list[Subscription]] = {}
    query = "SELECT subscriber_id, newsletter_id, status, version, changed FROM subscriptions"
    if len(wanted) <= 100:
        # a few people: ask for theirs; many: one pass over the whole table is cheaper
        query += f" WHERE subscriber_id IN ({', '.join('?' * len(wanted))})"
    args = wanted if len(wanted) <= 100 else []
    for sid, newsletter_id, status, version, changed in store.conn.execute(
        query + " ORDER BY newsletter_id", args
    ):
        found.setdefault(sid, []).append(
            Subscription(newsletter_id, status, int(version), _moment(changed))
        )
    return {i: tuple(found.get(i, ())) for i in wanted}


def _many(store: Store, rows: list[tuple[object, ...]]) -> tuple[Subscriber, ...]:
    subs = _subscriptions_of(store, [int(str(r[0])) for r in rows])
    return tuple(_subscriber(r, subs[int(str(r[0]))]) for r in rows)


def by_key(store: Store, key: str) -> Subscriber | None:
    """The subscriber with this case-folded address, or None."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM subscribers WHERE key = ?", (key,)).fetchone()
    return _many(store, [row])[0] if row else None


def by_id(store: Store, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, or None."""
    row = store.conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,)
    ).fetchone()
    return _many(store, [row])[0] if row else None


def every(store: Store, status: Status | None = None) -> tuple[Subscriber, ...]:
    """Every subscriber (or those with `status`), oldest first."""
    where, args = ("WHERE status = ?", (status,)) if status else ("", ())
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM subscribers {where} ORDER BY id", args)
    return _many(store, rows.fetchall())


# A subscriber's subscription to newsletter ?1: its own row, else their '*' row.
_EFFECTIVE = (
    "COALESCE((SELECT status FROM subscriptions WHERE subscriber_id = s.id AND "
    "newsletter_id = ?), (SELECT status FROM subscriptions WHERE subscriber_id = s.id AND "
    "newsletter_id = '*'))"
)


def active_for(store: Store, newsletter_id: str) -> tuple[Subscriber, ...]:
    """The subscribers this newsletter is sent to now (active, and subscribed to it), by id."""
    rows = store.conn.execute(
        f"SELECT {_COLUMNS} FROM subscribers s WHERE status = 'active' AND "
        f"{_EFFECTIVE} = 'active' ORDER BY id",
        (newsletter_id,),
    ).fetchall()
    return _many(store, rows)


def receives(store: Store, subscriber_id: int, newsletter_id: str) -> bool:
    """True when this newsletter is sent to this subscriber now (one indexed look-up)."""
    row = store.conn.execute(
        f"SELECT 1 FROM subscribers s WHERE id = ? AND status = 'active' AND "
        f"{_EFFECTIVE} = 'active'",
        (subscriber_id, newsletter_id),
    ).fetchone()
    return row is not None


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
    """Add a new subscriber; returns its id. Their subscriptions are pending when they are."""
    cursor = store.conn.execute(
        "INSERT INTO subscribers (key, email, display_email, name, status, created, changed, "
        "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (key, email, display_email, name, status, _stamp(now), _stamp(now), reason),
    )
    sid = cursor.lastrowid
    assert sid is not None
    add_newsletters(store, sid, newsletters, "pending" if status == "pending" else "active", now)
    return sid


def add_newsletters(
    store: Store,
    subscriber_id: int,
    newsletters: Iterable[str],
    status: SubscriptionStatus = "active",
    now: datetime | None = None,
) -> None:
    """Subscribe to these newsletters too ('*': every one); those they have are kept as is."""
    stamp = _stamp(now) if now else ""
    store.conn.executemany(
        "INSERT OR IGNORE INTO subscriptions (subscriber_id, newsletter_id, status, changed) "
        "VALUES (?, ?, ?, ?)",
        [(subscriber_id, n, status, stamp) for n in newsletters],
    )


def put_subscription(
    store: Store,
    subscriber_id: int,
    newsletter_id: str,
    status: SubscriptionStatus,
    version: int,
    now: datetime,
) -> None:
    """Set one subscription's status and version, adding its row if needed."""
    store.conn.execute(
        "INSERT INTO subscriptions (subscriber_id, newsletter_id, status, version, changed) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscriber_id, newsletter_id) DO UPDATE SET "
        "status = excluded.status, version = excluded.version, changed = excluded.changed",
        (subscriber_id, newsletter_id, status, version, _stamp(now)),
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


def set_confirmed(store: Store, subscriber_id: int, now: datetime, source: str) -> None:
    """Record that the address was confirmed now, from the client address `source`."""
    store.conn.execute(
        "UPDATE subscribers SET confirmed = ?, confirmed_from = ? WHERE id = ?",
        (_stamp(now), source, subscriber_id),
    )


def set_confirm_sent(store: Store, subscriber_id: int, now: datetime) -> None:
    """Record that a confirmation email was queued for them now."""
    store.conn.execute(
        "UPDATE subscribers SET confirm_sent = ? WHERE id = ?", (_stamp(now), subscriber_id)
    )


def first_pending(conn: sqlite3.Connection) -> datetime | None:
    """When the oldest request still waiting for its confirmation was made, if any (on any
    connection: the quiet check asks it on its own read-only one)."""
    row = conn.execute(
        "SELECT min(changed) FROM (SELECT changed FROM subscriptions WHERE status = 'pending' "
        "UNION ALL SELECT changed FROM subscribers WHERE status = 'pending')"
    ).fetchone()
    return _moment(row[0])


def expire_pending(store: Store, before: datetime) -> int:
    """Forget what was asked before `before` and never confirmed: a subscription they never
    had goes, one they had left is left again (its version kept, so old links stay dead),
    and a person who never confirmed anything goes. Returns how many people went."""
    stamp = _stamp(before)
    store.conn.execute(
        "UPDATE subscriptions SET status = 'unsubscribed' "
        "WHERE status = 'pending' AND version > 1 AND changed < ?",
        (stamp,),
    )
    store.conn.execute(
        "DELETE FROM subscriptions WHERE status = 'pending' AND changed < ?", (stamp,)
    )
    cursor = store.conn.execute(
        "DELETE FROM subscribers WHERE status = 'pending' AND changed < ? AND id NOT IN "
        "(SELECT subscriber_id FROM subscriptions)",
        (stamp,),
    )
    return cursor.rowcount
