"""The send journal: one row per (issue, subscriber), kept until sent (the issues
themselves are in `issues`).

A row is written `pending` in the same transaction that records its issue, before any
message leaves. It is `sending` from the moment it is handed to a connection (before its
data goes out) until the server's answer is recorded, so a run that dies or cannot
record leaves a trace: the next run turns such rows into `unknown` (the message may have
arrived) and sends them again at most `[delivery] unknown_retries` times, as it does a
message whose answer never came (a timeout after the data). Statuses:

    pending    to send (`not_before` in the future: deferred after a temporary refusal)
    sending    handed to a connection; its answer not recorded yet
    sent       the server accepted it (or the file is in the outbox)
    unknown    the data went out but no answer came: it may have arrived
    bounced    the server refused the recipient for good (`bounce`: 'hard' or 'soft')
    failed     given up: tried `max_attempts` times, or the message itself was refused
    cancelled  the subscriber left, or the issue can no longer be sent

A problem of the server (not of one reader) holds every row back for a while
(`holds.py`). Times are stored as ISO 8601 in UTC. Nothing here
commits: wrap calls in `store.transaction()`.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from publisher.store import holds

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    issue_id TEXT NOT NULL REFERENCES issues (id),
    subscriber_id INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'unknown', 'bounced', 'failed',
                          'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,  -- times the server was given this message
    not_before TEXT NOT NULL DEFAULT '',  -- '' means at once; else ISO time of next try
    reply TEXT NOT NULL DEFAULT '',       -- the server's last answer, for status and bounces
    message_id TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT '',
    bounce TEXT NOT NULL DEFAULT '' CHECK (bounce IN ('', 'hard', 'soft')),
    unknowns INTEGER NOT NULL DEFAULT 0,  -- times its fate was unknown (it may have arrived)
    suspect INTEGER NOT NULL DEFAULT 0,   -- times its refusal was taken for the server's fault
    PRIMARY KEY (issue_id, subscriber_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_pass (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    started TEXT NOT NULL                -- a pass handing rows out began then, and has not ended
);
"""

# Indexes on columns an older state file gains only in `upgrade`.
_INDEXES = """
DROP INDEX IF EXISTS sends_pending;
CREATE INDEX IF NOT EXISTS sends_due ON sends (issue_id, suspect, attempts, subscriber_id)
    WHERE status IN ('pending', 'unknown');
CREATE INDEX IF NOT EXISTS sends_by_subscriber ON sends (subscriber_id);
"""

# The columns of `sends` before issue 11, copied as they are when an old file is upgraded.
_OLD_COLUMNS = (
    "issue_id, subscriber_id, recipient, status, attempts, not_before, reply, message_id, updated"
)

STATUSES = ("sent", "pending", "sending", "unknown", "failed", "bounced", "cancelled")

Bounce = Literal["hard", "soft"]


@dataclass(frozen=True)
class PendingSend:
    """One journal row to send: `attempts` the server was given it, `unknowns` it may have
    arrived without an answer, `suspect` it was set aside for a server's trouble."""

    issue_id: str
    newsletter_id: str
    subscriber_id: int
    recipient: str
    attempts: int
    unknowns: int = 0
    suspect: int = 0


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a state file written by an older version up to this schema, keeping every row.

    SQLite cannot change a CHECK constraint in place: `sends` is rebuilt in one
    transaction (another process doing the same waits, then finds it done).
    """
    if "'unknown'" not in _table_sql(conn, "sends"):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if "'unknown'" not in _table_sql(conn, "sends"):
                new = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS sends") :]
                new = new[: new.index(") WITHOUT ROWID;") + len(") WITHOUT ROWID;")]
                conn.execute("DROP INDEX IF EXISTS sends_pending")
                conn.execute("ALTER TABLE sends RENAME TO sends_before_issue_11")
                conn.execute(new)
                conn.execute(
                    f"INSERT INTO sends ({_OLD_COLUMNS}) "
                    f"SELECT {_OLD_COLUMNS} FROM sends_before_issue_11"
                )
                conn.execute("DROP TABLE sends_before_issue_11")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    conn.executescript(_INDEXES)


def _table_sql(conn: sqlite3.Connection, name: str) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    found = row.fetchone()
    return str(found[0]) if found else ""


@functools.lru_cache(maxsize=64)
def _iso(moment: datetime) -> str:
    # One fixed width, so that comparing the text compares the times. Cached: a pass
    # stamps every row it records with the same few moments.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def enqueue(store: Store, issue_id: str, recipients: Iterable[tuple[int, str]]) -> int:
    """Add a pending row per (subscriber id, email) for the issue; returns how many were new."""
    cursor = store.conn.executemany(
        "INSERT OR IGNORE INTO sends (issue_id, subscriber_id, recipient) VALUES (?, ?, ?)",
        ((issue_id, sid, email) for sid, email in recipients),
    )
    return cursor.rowcount


def due(store: Store, now: datetime, *, unknown_retries: int = 1) -> tuple[PendingSend, ...]:
    """Rows whose time has come: pending ones, and unknown ones sent again at most
    `unknown_retries` times; older issues first, then rows never suspected of a server's
    fault, then fewest attempts. None while a server problem holds sending back."""
    if holds.held_until(store, now) is not None:
        return ()
    rows = store.conn.execute(
        "SELECT s.issue_id, i.newsletter_id, s.subscriber_id, s.recipient, s.attempts, "
        "s.unknowns, s.suspect FROM sends s JOIN issues i ON i.id = s.issue_id "
        "WHERE (s.status = 'pending' OR (s.status = 'unknown' AND s.unknowns <= ?)) "
        "AND s.not_before <= ? "
        "ORDER BY i.created, i.id, s.suspect, s.attempts, s.subscriber_id",
        (unknown_retries, _iso(now)),
    ).fetchall()
    return tuple(PendingSend(*row) for row in rows)


def next_send_time(conn: sqlite3.Connection, unknown_retries: int = 1) -> datetime | None:
    """When the first row still to send may go (`datetime.min` in UTC: at once), or None
    when no row waits. The quiet check's one question to the journal, asked on its own
    read-only connection: a row queued by the web app, left by a crash (a pass that never
    ended) or unknown and still to be tried again (`[delivery] unknown_retries`) is due; a
    server problem's hold puts it off."""
    at_once = datetime.min.replace(tzinfo=UTC)
    if conn.execute("SELECT 1 FROM delivery_pass").fetchone() is not None:
        return at_once
    (first,) = conn.execute(
        "SELECT min(not_before) FROM sends "
        "WHERE status = 'pending' OR (status = 'unknown' AND unknowns <= ?)",
        (unknown_retries,),
    ).fetchone()
    if first is None:
        return None
    when = datetime.fromisoformat(first) if first else at_once
    held = conn.execute("SELECT until FROM delivery_problems ORDER BY id DESC LIMIT 1").fetchone()
    if held is not None and held[0] and datetime.fromisoformat(held[0]) > when:
        when = datetime.fromisoformat(held[0])
    return when


def _set(store: Store, row: PendingSend, now: datetime, **fields: object) -> None:
    names = ", ".join(f"{k} = ?" for k in fields)
    store.conn.execute(
        f"UPDATE sends SET {names}, updated = ? WHERE issue_id = ? AND subscriber_id = ?",
        (*fields.values(), _iso(now), row.issue_id, row.subscriber_id),
    )


def begin_pass(store: Store, now: datetime) -> None:
    """A pass is about to hand rows out: until `end_pass`, rows may be left `sending`."""
    store.conn.execute(
        "INSERT OR REPLACE INTO delivery_pass (id, started) VALUES (1, ?)", (_iso(now),)
    )


def end_pass(store: Store) -> None:
    """The pass has recorded every row it handed out: none is left `sending`."""
    store.conn.execute("DELETE FROM delivery_pass")


def mark_sending(store: Store, rows: Iterable[PendingSend], now: datetime) -> list[PendingSend]:
    """These rows are handed to a connection: their data may go out from now on. Returns
    those that are no longer to send (cancelled since they were read: the reader left),
    which must not go out."""
    stamp, gone = _iso(now), []
    for r in rows:
        cursor = store.conn.execute(
            "UPDATE sends SET status = 'sending', updated = ? "
            "WHERE issue_id = ? AND subscriber_id = ? AND status IN ('pending', 'unknown')",
            (stamp, r.issue_id, r.subscriber_id),
        )
        if cursor.rowcount == 0:
            gone.append(r)
    return gone


def mark_sent(store: Store, row: PendingSend, message_id: str, now: datetime) -> None:
    """The server accepted the message (or it is in the outbox)."""
    _set(store, row, now, status="sent", message_id=message_id, attempts=row.attempts + 1)


def mark_bounced(
    store: Store, row: PendingSend, reply: str, now: datetime, bounce: Bounce = "hard"
) -> None:
    """The server refused the recipient for good (`hard`), or their mailbox could not take
    this message (`soft`)."""
    _set(store, row, now, status="bounced", bounce=bounce, reply=reply, attempts=row.attempts + 1)


def mark_failed(store: Store, row: PendingSend, reply: str, now: datetime) -> None:
    """Give up on this message: it was refused, or tried too often."""
    _set(store, row, now, status="failed", reply=reply, attempts=row.attempts + 1)


def mark_cancelled(store: Store, row: PendingSend, reason: str, now: datetime) -> None:
    """Do not send: the subscriber is no longer active."""
    _set(store, row, now, status="cancelled", reply=reason)


def cancel_pending(
    store: Store, subscriber_id: int, newsletter_id: str | None, reason: str, now: datetime
) -> int:
    """Cancel the subscriber's rows still pending (or unknown, to be sent again) for this
    newsletter's issues (None: every issue), as they leave it; returns how many. A row in
    flight (`sending`) is left: its message may be on its way."""
    issues = (
        ""
        if newsletter_id is None
        else "AND issue_id IN (SELECT id FROM issues WHERE newsletter_id = ?)"
    )
    cursor = store.conn.execute(
        "UPDATE sends SET status = 'cancelled', reply = ?, updated = ? "
        f"WHERE subscriber_id = ? AND status IN ('pending', 'unknown') {issues}",
        (reason, _iso(now), subscriber_id, *(() if newsletter_id is None else (newsletter_id,))),
    )
    return cursor.rowcount


def mark_unknown(
    store: Store, row: PendingSend, reply: str, now: datetime, retry_at: datetime
) -> None:
    """The data went out and no answer came: it may have arrived. Sent again from
    `retry_at` while `unknowns` stays within the caller's `unknown_retries`."""
    _set(
        store,
        row,
        now,
        status="unknown",
        reply=reply,
        attempts=row.attempts + 1,
        unknowns=row.unknowns + 1,
        not_before=_iso(retry_at),
    )


def retry_later(
    store: Store,
    row: PendingSend,
    reply: str,
    now: datetime,
    *,
    retry_after: timedelta,
    max_attempts: int,
) -> bool:
    """Count a failed try; try again after a doubling wait. False when it is now `failed`."""
    attempts = row.attempts + 1
    if attempts >= max_attempts:
        _set(store, row, now, status="failed", reply=reply, attempts=attempts)
        return False
    wait = min(retry_after * 2 ** (attempts - 1), timedelta(days=1))
    _set(
        store,
        row,
        now,
        status="pending",
        reply=reply,
        attempts=attempts,
        not_before=_iso(now + wait),
    )
    return True


def release(
    store: Store, rows: Iterable[PendingSend], now: datetime, *, suspect: bool = False
) -> None:
    """Put rows back as they were before this run handed them out, counting no attempt.

    `suspect`: the server refused them in a run of refusals that was its own fault; they are
    tried after the others next time, so a run of readers who really are gone cannot stop
    every run at the same place.
    """
    store.conn.executemany(
        "UPDATE sends SET status = CASE WHEN unknowns > 0 THEN 'unknown' ELSE 'pending' END, "
        "suspect = suspect + ?, updated = ? "
        "WHERE issue_id = ? AND subscriber_id = ? AND status = 'sending'",
        ((int(suspect), _iso(now), r.issue_id, r.subscriber_id) for r in rows),
    )


def unfinished_pass(store: Store) -> bool:
    """Whether a pass began handing rows out and never ended (it died, or could not record):
    only then can rows be left `sending`."""
    return store.conn.execute("SELECT 1 FROM delivery_pass").fetchone() is not None


def recover_in_flight(store: Store, now: datetime) -> int:
    """Rows left `sending` by a pass that died or could not record become `unknown` (their
    message may have arrived), due at once; returns how many. Their `unknowns` count does
    not grow: most were handed out and never on the wire (a connection holds two, the
    outbox a batch), so they are sent again whatever `unknown_retries` says. A crash may
    send again what was in flight; it never loses a message."""
    # Only a pass that never ended can have left any: no index on the status to keep up at
    # every send, and a whole scan only after a crash.
    if not unfinished_pass(store):
        return 0
    end_pass(store)
    cursor = store.conn.execute(
        "UPDATE sends SET status = 'unknown', not_before = '', "
        "reply = 'the run sending it ended before the answer was recorded', updated = ? "
        "WHERE status = 'sending'",
        (_iso(now),),
    )
    return cursor.rowcount


def soft_bounces_in_a_row(store: Store, subscriber_id: int, limit: int) -> int:
    """How many of the subscriber's last finished messages (at most `limit`) soft-bounced,
    counting back from the latest until one did not."""
    rows = store.conn.execute(
        "SELECT bounce FROM sends WHERE subscriber_id = ? AND status IN ('sent', 'bounced') "
        "ORDER BY updated DESC, issue_id DESC LIMIT ?",
        (subscriber_id, limit),
    )
    count = 0
    for (bounce,) in rows:
        if bounce != "soft":
            break
        count += 1
    return count


def sent_since(store: Store, since: datetime) -> int:
    """How many messages were recorded sent at or after `since`."""
    # A scan, asked once a run and only with [delivery.smtp] per_hour: an index on the time
    # would cost every send a page write.
    row = store.conn.execute(
        "SELECT count(*) FROM sends WHERE status = 'sent' AND updated >= ?", (_iso(since),)
    ).fetchone()
    return int(row[0])
