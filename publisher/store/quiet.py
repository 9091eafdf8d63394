"""What the last complete `publisher run` read and left, for the quiet check of the next ones.

One row: digests of the inputs as they were before that run read them (settings, code,
templates, the post files), the stamps of the files it wrote or looked at on the way (feeds,
pages, images), when time alone would next give a run something to do, and how it ended.
The cron minute that finds all of it unchanged exits at once (`publisher.main`). A cache,
not history: without it the next run simply does the whole work.

Read by the quiet check on its own read-only connection (`load_record`), before any other
part of the package is imported; written by the run (`save_record`) only when it changed.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS quiet_record (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format INTEGER NOT NULL,      -- the recipe of the digests (publisher.inputs.FORMAT)
    config TEXT NOT NULL,         -- the config file read, resolved
    salt BLOB NOT NULL,           -- keys the short digests of secret variables
    inputs TEXT NOT NULL,         -- digest of the config, code, templates, variables...
    posts TEXT NOT NULL,          -- digest of the post files as the indexer finds them
    files TEXT NOT NULL,          -- 'stamp path' NUL-separated (inputs.files_text)
    run_at TEXT NOT NULL,         -- the run's moment, ISO 8601 in UTC
    due_at TEXT,                  -- when time alone next gives a run work (NULL: never)
    status INTEGER NOT NULL,      -- the run's exit status
    summary TEXT NOT NULL         -- the line -v prints for a run that does nothing
);
"""


class QuietRecord(NamedTuple):
    """The row: see SCHEMA."""

    format: int
    config: str
    salt: bytes
    inputs: str
    posts: str
    files: str
    run_at: str
    due_at: str | None
    status: int
    summary: str


_COLUMNS = ", ".join(QuietRecord._fields)


def load_record(conn: sqlite3.Connection) -> QuietRecord | None:
    """The record on `conn` (a plain, possibly read-only connection), or None when there is
    none (or no such table yet)."""
    try:
        row = conn.execute(f"SELECT {_COLUMNS} FROM quiet_record WHERE id = 1").fetchone()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return None
        raise
    return None if row is None else QuietRecord(*row)


def save_record(store: Store, record: QuietRecord) -> bool:
    """Keep `record`, unless the same is already kept but for its run's moment (a run with
    nothing to do writes nothing); True when it was written."""
    kept = load_record(store.conn)
    if kept is not None and kept._replace(run_at=record.run_at) == record:
        return False
    with store.transaction() as conn:
        conn.execute(
            f"INSERT OR REPLACE INTO quiet_record (id, {_COLUMNS}) "
            f"VALUES (1, {', '.join('?' * len(QuietRecord._fields))})",
            record,
        )
    return True


def forget_record(store: Store) -> bool:
    """Drop the record (the next run does the whole work); True when there was one."""
    if load_record(store.conn) is None:
        return False
    with store.transaction() as conn:
        conn.execute("DELETE FROM quiet_record")
    return True
