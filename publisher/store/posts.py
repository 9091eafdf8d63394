"""What the store remembers about posts: identities (id, URL, first-seen time) and the parse cache.

A post is keyed by its path relative to the content folder, so a fresh clone (new
modification times) or an edited title keeps its id and first-seen date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS post_identity (
    source TEXT PRIMARY KEY,      -- path relative to the content folder
    id TEXT NOT NULL,             -- fixed the first time the post was seen
    url TEXT NOT NULL,            -- the URL last seen, to warn once when it changes
    first_seen TEXT NOT NULL      -- ISO 8601 with offset
);
CREATE TABLE IF NOT EXISTS parse_cache (
    source TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    post BLOB NOT NULL            -- the settled Post (or None: not published), encoded
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Identity:
    """What never changes about a post once seen: its id and first-seen time."""

    source: str
    id: str
    url: str
    first_seen: datetime


@dataclass(frozen=True)
class CacheEntry:
    """An encoded settled post and the file state (size, mtime) it came from."""

    size: int
    mtime_ns: int
    data: bytes


def load_identities(store: Store) -> dict[str, Identity]:
    """Every known post identity, by source path."""
    rows = store.conn.execute("SELECT source, id, url, first_seen FROM post_identity")
    return {r[0]: Identity(r[0], r[1], r[2], datetime.fromisoformat(r[3])) for r in rows}


def add_identities(store: Store, identities: Iterable[Identity]) -> dict[str, Identity]:
    """Record new identities (first writer wins); return what the store now holds for them."""
    rows = [(i.source, i.id, i.url, i.first_seen.isoformat()) for i in identities]
    if not rows:
        return {}
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO post_identity (source, id, url, first_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(source) DO NOTHING",
            rows,
        )
    wanted = {r[0] for r in rows}
    return {s: i for s, i in load_identities(store).items() if s in wanted}


def update_urls(store: Store, urls: dict[str, str]) -> None:
    """Remember the URL now seen for these sources (their ids stay)."""
    if urls:
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE post_identity SET url = ? WHERE source = ?",
                [(url, source) for source, url in urls.items()],
            )


def load_cache(store: Store, fingerprint: str) -> dict[str, CacheEntry]:
    """The parse cache, or nothing when it was made under other settings."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = 'cache_fingerprint'").fetchone()
    if row is None or row[0] != fingerprint:
        return {}
    rows = store.conn.execute("SELECT source, size, mtime_ns, post FROM parse_cache")
    return {source: CacheEntry(size, mtime_ns, data) for source, size, mtime_ns, data in rows}


def save_cache(
    store: Store, fingerprint: str, entries: dict[str, CacheEntry], keep: Iterable[str]
) -> None:
    """Store new entries and drop those of files that are gone (not in `keep`)."""
    keep_set = set(keep)
    with store.transaction() as conn:
        old = conn.execute("SELECT value FROM meta WHERE key = 'cache_fingerprint'").fetchone()
        if old is None or old[0] != fingerprint:
            conn.execute("DELETE FROM parse_cache")
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('cache_fingerprint', ?)",
                (fingerprint,),
            )
        else:
            gone = [
                (s,) for (s,) in conn.execute("SELECT source FROM parse_cache") if s not in keep_set
            ]
            conn.executemany("DELETE FROM parse_cache WHERE source = ?", gone)
        conn.executemany(
            "INSERT OR REPLACE INTO parse_cache (source, size, mtime_ns, post) VALUES (?, ?, ?, ?)",
            [(s, e.size, e.mtime_ns, e.data) for s, e in entries.items()],
        )
