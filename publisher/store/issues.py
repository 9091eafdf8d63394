"""Newsletter issues as recorded (which posts, for which newsletter, when), and how each
issue's messages stand in the send journal (`journal`), for `publisher status`.

An issue is recorded in the same transaction as its journal rows, before any message
leaves. Times are stored as ISO 8601 in UTC, one fixed width. Nothing here commits: wrap
calls in `store.transaction()`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
"""


@dataclass(frozen=True)
class StoredIssue:
    """A newsletter issue as recorded: which posts, for which newsletter, when."""

    id: str
    newsletter_id: str
    post_ids: tuple[str, ...]
    created: datetime
    more_ids: tuple[str, ...]


@dataclass(frozen=True)
class IssueCounts:
    """How one issue's messages stand at a moment, for `publisher status`.

    `pending` rows are due now; `deferred` ones wait for `next_attempt` (the earliest).
    """

    issue: StoredIssue
    sent: int
    pending: int
    deferred: int
    next_attempt: datetime | None
    sending: int
    unknown: int
    failed: int
    hard_bounced: int
    soft_bounced: int
    cancelled: int

    @property
    def bounced(self) -> int:
        """Hard and soft bounces together."""
        return self.hard_bounced + self.soft_bounced


def _iso(moment: datetime) -> str:
    # One fixed width, so that comparing the text compares the times (the journal orders
    # its rows by their issue's `created`).
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


def last_issues(
    store: Store, newsletter_id: str, now: datetime, limit: int = 5
) -> tuple[IssueCounts, ...]:
    """The newsletter's latest issues, newest first, with their rows counted as they stand
    at `now`."""
    issues = store.conn.execute(
        "SELECT id, newsletter_id, post_ids, created, more_ids FROM issues "
        "WHERE newsletter_id = ? ORDER BY created DESC, id DESC LIMIT ?",
        (newsletter_id, limit),
    ).fetchall()
    stamp = _iso(now)
    result = []
    for row in issues:
        issue = _issue(row)
        counts = {
            key: count
            for key, count in store.conn.execute(
                "SELECT CASE "
                "WHEN status = 'pending' AND not_before > ? THEN 'deferred' "
                "WHEN status = 'bounced' THEN bounce || '_bounced' "
                "ELSE status END, count(*) FROM sends WHERE issue_id = ? GROUP BY 1",
                (stamp, issue.id),
            )
        }
        (next_at,) = store.conn.execute(
            "SELECT min(not_before) FROM sends WHERE issue_id = ? AND status = 'pending' "
            "AND not_before > ?",
            (issue.id, stamp),
        ).fetchone()
        result.append(
            IssueCounts(
                issue,
                sent=counts.get("sent", 0),
                pending=counts.get("pending", 0),
                deferred=counts.get("deferred", 0),
                next_attempt=datetime.fromisoformat(next_at) if next_at else None,
                sending=counts.get("sending", 0),
                unknown=counts.get("unknown", 0),
                failed=counts.get("failed", 0),
                hard_bounced=counts.get("hard_bounced", 0) + counts.get("_bounced", 0),
                soft_bounced=counts.get("soft_bounced", 0),
                cancelled=counts.get("cancelled", 0),
            )
        )
    return tuple(result)
