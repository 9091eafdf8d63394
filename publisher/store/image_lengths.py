"""Byte lengths of posts' images as their servers gave them (an HTTP HEAD), by URL.

A cache, not history: losing it costs one HEAD per image. A failure is kept too (length
NULL), so a run asks again only once it is old enough (see `publisher.feeds.lengths`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS image_lengths (
    url TEXT PRIMARY KEY,
    length INTEGER,               -- bytes; NULL when the server could not tell
    checked TEXT NOT NULL         -- when it was asked, ISO 8601 in UTC
) WITHOUT ROWID;
"""

Answer = tuple[int | None, datetime]  # the length (None: unknown) and when it was asked


def load_lengths(store: Store, urls: Collection[str]) -> dict[str, Answer]:
    """What is known of each of `urls` (those never asked are absent)."""
    if not urls:
        return {}
    found: dict[str, Answer] = {}
    wanted = list(urls)
    for start in range(0, len(wanted), 500):  # SQLite's limit on bound values
        chunk = wanted[start : start + 500]
        rows = store.conn.execute(
            "SELECT url, length, checked FROM image_lengths "
            f"WHERE url IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        found.update((url, (length, datetime.fromisoformat(when))) for url, length, when in rows)
    return found


def save_lengths(store: Store, answers: Iterable[tuple[str, int | None, datetime]]) -> None:
    """Keep each (url, length or None, when asked), replacing what was known; commits."""
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO image_lengths (url, length, checked) VALUES (?, ?, ?) "
            "ON CONFLICT (url) DO UPDATE SET length = excluded.length, checked = excluded.checked",
            [(url, length, when.astimezone(UTC).isoformat()) for url, length, when in answers],
        )


def failed_since(store: Store, since: datetime) -> list[datetime]:
    """When each server that could not tell a length was asked, if after `since`."""
    rows = store.conn.execute("SELECT checked FROM image_lengths WHERE length IS NULL")
    return [when for (text,) in rows if (when := datetime.fromisoformat(text)) > since]
