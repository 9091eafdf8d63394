"""Which posts each newsletter has announced, and when each newsletter last went out.

A post is announced by a newsletter once, ever: the row stays after the post is gone.
Times are ISO 8601 in UTC. Nothing here commits: wrap calls in `store.transaction()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS announced (
    newsletter_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    issue_id TEXT NOT NULL,          -- '' when marked by 'publisher baseline'
    announced TEXT NOT NULL,
    PRIMARY KEY (newsletter_id, post_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS newsletter_state (
    newsletter_id TEXT PRIMARY KEY,
    last_issue TEXT NOT NULL         -- when the last issue (or baseline) was made
);
"""


def announced_ids(store: Store, newsletter_id: str) -> frozenset[str]:
    """The ids of every post this newsletter has announced."""
    rows = store.conn.execute(
        "SELECT post_id FROM announced WHERE newsletter_id = ?", (newsletter_id,)
    )
    return frozenset(r[0] for r in rows)


def last_issue(store: Store, newsletter_id: str) -> datetime | None:
    """When this newsletter last made an issue (or was baselined), or None if never."""
    row = store.conn.execute(
        "SELECT last_issue FROM newsletter_state WHERE newsletter_id = ?", (newsletter_id,)
    ).fetchone()
    return None if row is None else datetime.fromisoformat(row[0])


def record(
    store: Store, newsletter_id: str, post_ids: Iterable[str], issue_id: str, when: datetime
) -> int:
    """Mark posts announced (keeping earlier marks) and set the last-issue time; rows added."""
    stamp = when.astimezone(UTC).isoformat()
    cursor = store.conn.executemany(
        "INSERT OR IGNORE INTO announced (newsletter_id, post_id, issue_id, announced) "
        "VALUES (?, ?, ?, ?)",
        [(newsletter_id, post_id, issue_id, stamp) for post_id in post_ids],
    )
    store.conn.execute(
        "INSERT INTO newsletter_state (newsletter_id, last_issue) VALUES (?, ?) "
        "ON CONFLICT (newsletter_id) DO UPDATE SET last_issue = excluded.last_issue",
        (newsletter_id, stamp),
    )
    return cursor.rowcount
