"""The feed stage's record of the last build: per feed file, its inputs' fingerprint and stamp.

A cache, not history: losing it only makes the next build render every feed again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_fingerprints (
    output_dir TEXT NOT NULL,     -- [feeds] output_dir, resolved
    name TEXT NOT NULL,           -- the file, relative to output_dir
    fingerprint TEXT NOT NULL,    -- of everything the file's bytes depend on
    size INTEGER NOT NULL,        -- the file as it was left: size, times, inode
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    PRIMARY KEY (output_dir, name)
);
"""

Record = tuple[str, int, int, int, int]  # fingerprint, size, mtime_ns, ctime_ns, inode


def load_fingerprints(store: Store, output_dir: str) -> dict[str, Record]:
    """The record of the last build into `output_dir`, by file name."""
    rows = store.conn.execute(
        "SELECT name, fingerprint, size, mtime_ns, ctime_ns, inode FROM feed_fingerprints "
        "WHERE output_dir = ?",
        (output_dir,),
    )
    return {name: (key, size, mtime, ctime, inode) for name, key, size, mtime, ctime, inode in rows}


def save_fingerprints(store: Store, output_dir: str, records: dict[str, Record]) -> None:
    """Replace the record of `output_dir` with `records`."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM feed_fingerprints WHERE output_dir = ?", (output_dir,))
        conn.executemany(
            "INSERT INTO feed_fingerprints "
            "(output_dir, name, fingerprint, size, mtime_ns, ctime_ns, inode) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(output_dir, name, *record) for name, record in sorted(records.items())],
        )
