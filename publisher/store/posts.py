"""What the store remembers about posts: identities (id, URL, first-seen time) and the parse cache.

A post is keyed by its path relative to the content folder, so a fresh clone (new
modification times) or an edited title keeps its id and first-seen date.
"""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS post_identity (
    source TEXT PRIMARY KEY,      -- path relative to the content folder
    id TEXT NOT NULL,             -- fixed the first time the post was seen
    url TEXT NOT NULL,            -- the URL last seen, to warn once when it changes
    first_seen TEXT NOT NULL      -- ISO 8601 with offset
);
CREATE TABLE IF NOT EXISTS parse_buckets (
    bucket INTEGER PRIMARY KEY,   -- crc32(source) % BUCKETS
    entries BLOB NOT NULL         -- marshal: {source: (size, mtime_ns, encoded post or None)}
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


# Entries are grouped in buckets: a warm run loads 64 rows instead of one per post, and a
# changed file rewrites only its bucket.
BUCKETS = 64
CacheEntry = tuple[int, int, Any]  # (size, mtime_ns, encoded post or None)


def bucket_of(source: str) -> int:
    """The cache bucket a source path lives in."""
    return zlib.crc32(source.encode("utf-8")) % BUCKETS


def load_identities(store: Store, sources: Collection[str] | None = None) -> dict[str, Identity]:
    """Known post identities by source path: all of them, or those of `sources`."""
    query = "SELECT source, id, url, first_seen FROM post_identity"
    if sources is None or len(sources) > 500:
        rows = store.conn.execute(query).fetchall()
    else:
        # A warm run with a few changed files looks up just those.
        rows = [r for s in sources for r in store.conn.execute(query + " WHERE source = ?", (s,))]
    wanted = None if sources is None else set(sources)
    return {
        r[0]: Identity(r[0], r[1], r[2], datetime.fromisoformat(r[3]))
        for r in rows
        if wanted is None or r[0] in wanted
    }


def add_identities(store: Store, identities: Sequence[Identity]) -> dict[str, Identity]:
    """Record new identities (first writer wins); return what the store now holds for them."""
    rows = [(i.source, i.id, i.url, i.first_seen.isoformat()) for i in identities]
    if not rows:
        return {}
    with store.transaction() as conn:
        inserted = conn.executemany(
            "INSERT INTO post_identity (source, id, url, first_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(source) DO NOTHING",
            rows,
        ).rowcount
    if inserted == len(rows):
        return {i.source: i for i in identities}
    return load_identities(store, [r[0] for r in rows])


def update_urls(store: Store, urls: dict[str, str]) -> None:
    """Remember the URL now seen for these sources (their ids stay)."""
    if urls:
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE post_identity SET url = ? WHERE source = ?",
                [(url, source) for source, url in urls.items()],
            )


def load_cache(store: Store, fingerprint: str) -> dict[str, CacheEntry]:
    """The parse cache by source, or nothing when it was made under other settings."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = 'cache_fingerprint'").fetchone()
    if row is None or row[0] != fingerprint:
        return {}
    cache: dict[str, CacheEntry] = {}
    for (blob,) in store.conn.execute("SELECT entries FROM parse_buckets"):
        cache.update(marshal.loads(blob))  # noqa: S302 (our own state file, written below)
    return cache


def save_cache(
    store: Store, fingerprint: str, cache: dict[str, CacheEntry], changed: set[str]
) -> None:
    """Write the buckets holding `changed` sources (all of them under a new fingerprint)."""
    with store.transaction() as conn:
        old = conn.execute("SELECT value FROM meta WHERE key = 'cache_fingerprint'").fetchone()
        if old is None or old[0] != fingerprint:
            conn.execute("DELETE FROM parse_buckets")
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('cache_fingerprint', ?)",
                (fingerprint,),
            )
            buckets = set(range(BUCKETS))
        else:
            buckets = {bucket_of(s) for s in changed}
        grouped: dict[int, dict[str, CacheEntry]] = {b: {} for b in buckets}
        for source, entry in cache.items():
            b = bucket_of(source)
            if b in grouped:
                grouped[b][source] = entry
        conn.executemany(
            "INSERT OR REPLACE INTO parse_buckets (bucket, entries) VALUES (?, ?)",
            [(b, marshal.dumps(entries)) for b, entries in grouped.items()],
        )
