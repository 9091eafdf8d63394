"""Newsletter issues and the send journal: one row per (issue, subscriber), kept until sent.

A row is written `pending` in the same transaction that records its issue, before any
message leaves; it becomes `sent` only after the server accepted the message (or the file
was renamed into the outbox). So a crash loses nothing, and resends at most the one
message that was in flight. Statuses: pending, sent, bounced (5xx for the recipient),
failed (gave up: max attempts, or the message itself was refused), cancelled (the
subscriber left before the message went out).

Times are stored as ISO 8601 in UTC. Nothing here commits: wrap calls in
`store.transaction()`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY,
    newsletter_id TEXT NOT NULL,
    post_ids TEXT NOT NULL,          -- JSON list of post ids, in issue order
    created TEXT NOT NULL,
    more_ids TEXT NOT NULL DEFAULT '[]'  -- JSON list: announced too, counted as 'more'
);
CREATE INDEX IF NOT EXISTS issues_by_newsletter ON issues (newsletter_id, created);
CREATE TABLE IF NOT EXISTS sends (
    issue_id TEXT NOT NULL REFERENCES issues (id),
    subscriber_id INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'bounced', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL DEFAULT '',  -- '' means at once; else ISO time of next try
    reply TEXT NOT NULL DEFAULT '',       -- the server's last answer, for status and bounces
    message_id TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (issue_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sends_pending ON sends (issue_id, attempts, subscriber_id)
    WHERE status = 'pending';
"""

STATUSES = ("sent", "pending", "failed", "bounced", "cancelled")


@dataclass(frozen=True)
class StoredIssue:
    """A newsletter issue as recorded: which posts, for which newsletter, when."""

    id: str
    newsletter_id: str
    post_ids: tuple[str, ...]
    created: datetime
    more_ids: tuple[str, ...]


@dataclass(frozen=True)
class PendingSend:
    """One journal row still to send."""

    issue_id: str
    newsletter_id: str
    subscriber_id: int
    recipient: str
    attempts: int


@dataclass(frozen=True)
class IssueCounts:
    """How one issue's messages stand, for `publisher status`."""

    issue: StoredIssue
    sent: int
    pending: int
    failed: int
    bounced: int
    cancelled: int


def _iso(moment: datetime) -> str:
    # One fixed width, so that comparing the text compares the times.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_issue(
    store: Store,
    *,
    issue_id: str,
    newsletter_id: str,
    post_ids: Sequence[str],
    created: datetime,
    more_ids: Sequence[str] = (),
) -> bool:
    """Record an issue; False if an issue with this id was already there."""
    cursor = store.conn.execute(
        "INSERT OR IGNORE INTO issues (id, newsletter_id, post_ids, created, more_ids) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            issue_id,
            newsletter_id,
            json.dumps(list(post_ids)),
            _iso(created),
            json.dumps(list(more_ids)),
        ),
    )
    return cursor.rowcount == 1


def enqueue(store: Store, issue_id: str, recipients: Iterable[tuple[int, str]]) -> int:
    """Add a pending row per (subscriber id, email) for the issue; returns how many were new."""
    cursor = store.conn.executemany(
        "INSERT OR IGNORE INTO sends (issue_id, subscriber_id, recipient) VALUES (?, ?, ?)",
        ((issue_id, sid, email) for sid, email in recipients),
    )
    return cursor.rowcount


def due(store: Store, now: datetime) -> tuple[PendingSend, ...]:
    """Pending rows whose time has come: older issues first, then fewest attempts."""
    rows = store.conn.execute(
        "SELECT s.issue_id, i.newsletter_id, s.subscriber_id, s.recipient, s.attempts "
        "FROM sends s JOIN issues i ON i.id = s.issue_id "
        "WHERE s.status = 'pending' AND s.not_before <= ? "
        "ORDER BY i.created, i.id, s.attempts, s.subscriber_id",
        (_iso(now),),
    ).fetchall()
    return tuple(PendingSend(*row) for row in rows)


def next_send_time(conn: sqlite3.Connection) -> datetime | None:
    """When the first row still to send may go (`datetime.min` in UTC: at once), or None
    when no row is pending. The quiet check's one question to the journal, asked on its
    own read-only connection: a row queued by the web app or left by a crash is due."""
    (first,) = conn.execute("SELECT min(not_before) FROM sends WHERE status = 'pending'").fetchone()
    if first is None:
        return None
    return datetime.fromisoformat(first) if first else datetime.min.replace(tzinfo=UTC)


def get_issue(store: Store, issue_id: str) -> StoredIssue | None:
    """The recorded issue with this id, if any."""
    row = store.conn.execute(
        "SELECT id, newsletter_id, post_ids, created, more_ids FROM issues WHERE id = ?",
        (issue_id,),
    ).fetchone()
    return None if row is None else _issue(row)


def _issue(row: tuple[str, str, str, str, str]) -> StoredIssue:
    issue_id, newsletter_id, post_ids, created, more_ids = row
    return StoredIssue(
        id=issue_id,
        newsletter_id=newsletter_id,
        post_ids=tuple(json.loads(post_ids)),
        created=datetime.fromisoformat(created),
        more_ids=tuple(json.loads(more_ids)),
    )


def _set(store: Store, row: PendingSend, now: datetime, **fields: object) -> None:
    names = ", ".join(f"{k} = ?" for k in fields)
    store.conn.execute(
        f"UPDATE sends SET {names}, updated = ? WHERE issue_id = ? AND subscriber_id = ?",
        (*fields.values(), _iso(now), row.issue_id, row.subscriber_id),
    )


def mark_sent(store: Store, row: PendingSend, message_id: str, now: datetime) -> None:
    """The server accepted the message (or it is in the outbox)."""
    _set(store, row, now, status="sent", message_id=message_id, attempts=row.attempts + 1)


def mark_bounced(store: Store, row: PendingSend, reply: str, now: datetime) -> None:
    """The server refused the recipient for good."""
    _set(store, row, now, status="bounced", reply=reply, attempts=row.attempts + 1)


def mark_failed(store: Store, row: PendingSend, reply: str, now: datetime) -> None:
    """Give up on this message: it was refused, or tried too often."""
    _set(store, row, now, status="failed", reply=reply, attempts=row.attempts + 1)


def mark_cancelled(store: Store, row: PendingSend, reason: str, now: datetime) -> None:
    """Do not send: the subscriber is no longer active."""
    _set(store, row, now, status="cancelled", reply=reason)


def cancel_pending(
    store: Store, subscriber_id: int, newsletter_id: str | None, reason: str, now: datetime
) -> int:
    """Cancel the subscriber's rows still pending for this newsletter's issues (None: every
    issue), as they leave it; returns how many. A send in progress skips them."""
    issues = (
        ""
        if newsletter_id is None
        else "AND issue_id IN (SELECT id FROM issues WHERE newsletter_id = ?)"
    )
    cursor = store.conn.execute(
        "UPDATE sends SET status = 'cancelled', reply = ?, updated = ? "
        f"WHERE subscriber_id = ? AND status = 'pending' {issues}",
        (reason, _iso(now), subscriber_id, *(() if newsletter_id is None else (newsletter_id,))),
    )
    return cursor.rowcount


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
    _set(store, row, now, reply=reply, attempts=attempts, not_before=_iso(now + wait))
    return True


def postpone(store: Store, rows: Iterable[PendingSend], until: datetime, now: datetime) -> None:
    """Leave rows that were not tried for a later run, without counting an attempt."""
    store.conn.executemany(
        "UPDATE sends SET not_before = ?, updated = ? "
        "WHERE issue_id = ? AND subscriber_id = ? AND status = 'pending'",
        ((_iso(until), _iso(now), r.issue_id, r.subscriber_id) for r in rows),
    )


def last_issues(store: Store, newsletter_id: str, limit: int = 5) -> tuple[IssueCounts, ...]:
    """The newsletter's latest issues, newest first, with their rows counted by status."""
    issues = store.conn.execute(
        "SELECT id, newsletter_id, post_ids, created, more_ids FROM issues "
        "WHERE newsletter_id = ? ORDER BY created DESC, id DESC LIMIT ?",
        (newsletter_id, limit),
    ).fetchall()
    result = []
    for row in issues:
        issue = _issue(row)
        counts = dict.fromkeys(STATUSES, 0)
        for status, count in store.conn.execute(
            "SELECT status, count(*) FROM sends WHERE issue_id = ? GROUP BY status", (issue.id,)
        ):
            counts[status] = count
        result.append(IssueCounts(issue, **counts))
    return tuple(result)
