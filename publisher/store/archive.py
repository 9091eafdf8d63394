"""The issues whose archive page is written: what each newsletter's index and feed list.

A row is added once the issue's page is on disk, so a row means a page. Times are ISO 8601
in UTC. Nothing here commits: wrap calls in `store.transaction()`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS archive_pages (
    issue_id TEXT PRIMARY KEY,
    newsletter_id TEXT NOT NULL,
    created TEXT NOT NULL,           -- when the issue was made
    title TEXT NOT NULL,             -- its email's subject
    posts TEXT NOT NULL              -- JSON list of [title, url]: every post it announced
);
CREATE INDEX IF NOT EXISTS archive_by_newsletter ON archive_pages (newsletter_id, created);
"""


@dataclass(frozen=True)
class ArchivedIssue:
    """An issue as its newsletter's archive lists it."""

    issue_id: str
    newsletter_id: str
    created: datetime
    title: str
    posts: tuple[tuple[str, str], ...]  # (title, url) of each post, in the issue's order


def archived_ids(store: Store, issue_ids: Collection[str]) -> frozenset[str]:
    """Which of `issue_ids` have their page written."""
    wanted = list(issue_ids)
    if not wanted:
        return frozenset()
    rows = store.conn.execute(
        f"SELECT issue_id FROM archive_pages WHERE issue_id IN ({', '.join('?' * len(wanted))})",
        wanted,
    )
    return frozenset(r[0] for r in rows)


def add(store: Store, issue: ArchivedIssue) -> None:
    """Note that the issue's page is written (kept as it was when it is already noted)."""
    store.conn.execute(
        "INSERT OR IGNORE INTO archive_pages (issue_id, newsletter_id, created, title, posts) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            issue.issue_id,
            issue.newsletter_id,
            issue.created.astimezone(UTC).isoformat(),
            issue.title,
            json.dumps([list(p) for p in issue.posts], ensure_ascii=False),
        ),
    )


def listed(store: Store, newsletter_id: str) -> Sequence[ArchivedIssue]:
    """Every archived issue of the newsletter, newest first."""
    rows = store.conn.execute(
        "SELECT issue_id, created, title, posts FROM archive_pages WHERE newsletter_id = ? "
        "ORDER BY created DESC, issue_id",
        (newsletter_id,),
    )
    return [
        ArchivedIssue(
            issue_id,
            newsletter_id,
            datetime.fromisoformat(created),
            title,
            tuple((t, u) for t, u in json.loads(posts)),
        )
        for issue_id, created, title, posts in rows
    ]
