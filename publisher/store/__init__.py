"""The SQLite file that holds all of publisher's state, and its transactions.

Each module of this package owns a few tables and declares them in `SCHEMA`. The
functions of the journal, subscribers and announced posts take the `Store` and never
commit on their own, so a caller groups several in one `with store.transaction():` block
(an issue, its announced posts and its rows are recorded together). The indexer's and the
feeds' records (`posts`, `fingerprints`) are each written whole by one call, which commits.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.errors import StoreError
from publisher.store import (
    announced,
    archive,
    fingerprints,
    image_lengths,
    journal,
    posts,
    subscribers,
)
from publisher.store import problems as reported_problems
from publisher.store import quiet as quiet_record

# Every module's tables, created on open; add a module here when it declares a SCHEMA.
_SCHEMAS: tuple[str, ...] = (
    posts.SCHEMA,
    announced.SCHEMA,
    subscribers.SCHEMA,
    journal.SCHEMA,
    fingerprints.SCHEMA,
    image_lengths.SCHEMA,
    archive.SCHEMA,
    # The problems the last run printed (issue 10: once per problem under cron).
    reported_problems.SCHEMA,
    # What the last complete run read and left, for the quiet cron minutes (issue 14).
    quiet_record.SCHEMA,
)
# Changes to tables that earlier versions made, run after _SCHEMAS on every open.
_MIGRATIONS = (subscribers.migrate,)


class Store:
    """An open state file. Use `Store.open(path)`; close it, or use it as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, *, closed_elsewhere: bool = False) -> Store:
        """Open (creating if needed) the state file at `path`, with every table in place.

        `closed_elsewhere`: one thread uses it, and another may close it (the web app's
        per-thread connections, closed when the server stops).
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=not closed_elsewhere
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            for schema in _SCHEMAS:
                conn.executescript(schema)
            for migrate in _MIGRATIONS:
                migrate(conn)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(
                f"{path}: cannot open the state file ({e}): check [store] path and that "
                "the folder is writable"
            ) from e
        return cls(conn, path)

    @classmethod
    def in_memory(cls, path: Path) -> Store:
        """An empty store with every table, held in memory: `path` only names it in messages."""
        # For a dry run on a site with no state file yet: looking must not create one.
        conn = sqlite3.connect(":memory:", isolation_level=None)
        for schema in _SCHEMAS:
            conn.executescript(schema)
        return cls(conn, path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (BEGIN IMMEDIATE), committed or rolled back."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot start a transaction ({e})") from e
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def scratch_copy(path: Path) -> Iterator[Store]:
    """A throwaway copy of the state file, for dry runs and previews: `path` is only read."""
    with tempfile.TemporaryDirectory(prefix="publisher-dry-run-") as tmp:
        scratch = Path(tmp) / path.name
        if path.exists():
            try:
                source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
                copy = sqlite3.connect(scratch)
                try:
                    source.backup(copy)
                finally:
                    copy.close()
                    source.close()
            except sqlite3.Error as e:
                raise StoreError(f"{path}: cannot read the state file ({e})") from e
        with Store.open(scratch) as store:
            yield store
