"""The SQLite file that holds all of publisher's state, and its transactions.

Each module of this package owns a few tables and declares them in `SCHEMA`. The
functions of the issues, journal, subscribers and announced posts take the `Store` and never
commit on their own, so a caller groups several in one `with store.transaction():` block
(an issue, its announced posts and its rows are recorded together). The indexer's and the
feeds' records (`posts`, `fingerprints`) are each written whole by one call, which commits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from publisher.errors import StoreError
from publisher.store import (
    announced,
    archive,
    fingerprints,
    holds,
    image_lengths,
    issues,
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
    issues.SCHEMA,
    journal.SCHEMA,
    fingerprints.SCHEMA,
    image_lengths.SCHEMA,
    archive.SCHEMA,
    # The server problems that stopped sending, and their hold (issue 11).
    holds.SCHEMA,
    # The problems the last run printed (issue 10: once per problem under cron).
    reported_problems.SCHEMA,
    # What the last complete run read and left, for the quiet cron minutes (issue 14).
    quiet_record.SCHEMA,
)

# Run after the schemas on open, to bring a file written by an older version up to date.
_UPGRADES: tuple[Callable[[sqlite3.Connection], None], ...] = (
    journal.upgrade,
    subscribers.migrate,
    holds.upgrade,
)

# Free bytes under which an I/O error on the state file is taken for a full disk.
_NEARLY_FULL = 256 * 1024

BUSY_TIMEOUT = timedelta(minutes=2)
"""How long a write waits for another process (an import, the web app) to release the write
lock before giving up: long enough for any of them, which commit in small batches."""


class Store:
    """An open state file. Use `Store.open(path)`; close it, or use it as a context manager."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, busy_timeout: timedelta = BUSY_TIMEOUT
    ) -> None:
        self.conn = conn
        self.path = path
        self.busy_timeout = busy_timeout

    @classmethod
    def open(
        cls, path: Path, *, busy_timeout: timedelta = BUSY_TIMEOUT, closed_elsewhere: bool = False
    ) -> Store:
        """Open (creating if needed) the state file at `path`, with every table in place;
        a write waits up to `busy_timeout` for another process's write to end.

        `closed_elsewhere`: one thread uses it, and another may close it (the web app's
        per-thread connections, closed when the server stops).
        """
        conn = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path,
                isolation_level=None,
                timeout=busy_timeout.total_seconds(),
                check_same_thread=not closed_elsewhere,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            for schema in _SCHEMAS:
                conn.executescript(schema)
            for upgrade in _UPGRADES:
                upgrade(conn)
        except (OSError, sqlite3.Error) as e:
            if conn is not None:
                conn.close()
            way_out = _way_out(path, e, busy_timeout) or (
                "check [store] path and that the folder is writable"
            )
            raise StoreError(f"{path}: cannot open the state file ({_reason(e)}): {way_out}") from e
        return cls(conn, path, busy_timeout)

    @classmethod
    def in_memory(cls, path: Path) -> Store:
        """An empty store with every table, held in memory: `path` only names it in messages."""
        # For a dry run on a site with no state file yet: looking must not create one.
        conn = sqlite3.connect(":memory:", isolation_level=None)
        for schema in _SCHEMAS:
            conn.executescript(schema)
        for upgrade in _UPGRADES:
            upgrade(conn)
        return cls(conn, path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (BEGIN IMMEDIATE), committed or rolled back.

        A write SQLite refuses (the disk full, the file read-only, the lock still held by
        another process after the busy timeout) is a StoreError naming the file; nothing of
        the transaction is kept.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise self._cannot_write(e) from e
        try:
            yield self.conn
        except BaseException as e:
            self._rollback()
            # The file's trouble is the user's to fix; anything else (a constraint, a
            # missing column) is ours and stays as it is.
            if isinstance(e, sqlite3.Error) and _primary_code(e) in _FILE_TROUBLE:
                raise self._cannot_write(e) from e
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as e:
            self._rollback()
            raise self._cannot_write(e) from e

    def _rollback(self) -> None:
        # SQLite may have rolled back on its own already (a full disk can do that).
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def _cannot_write(self, error: sqlite3.Error) -> StoreError:
        return StoreError(
            f"{self.path}: cannot record in the state file ({_reason(error)}): "
            f"{_way_out(self.path, error, self.busy_timeout) or 'check the file and its disk'}"
        )

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# SQLite's result codes that are about the file or its disk, not about what we asked.
_FILE_TROUBLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOTADB,
    }
)


def _primary_code(error: BaseException) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _way_out(path: Path, error: BaseException, busy_timeout: timedelta) -> str:
    """What to do when SQLite cannot open or write the state file at `path` ('' when the
    error tells nothing more than itself)."""
    code = _primary_code(error)
    folder = path.parent
    try:
        full = shutil.disk_usage(folder).free < _NEARLY_FULL
    except OSError:
        full = False
    if code == sqlite3.SQLITE_FULL or (full and code in (sqlite3.SQLITE_IOERR, None)):
        return f"the disk that holds {folder} is full: free space on it; the next run carries on"
    if code == sqlite3.SQLITE_READONLY or not os.access(folder, os.W_OK):
        return (
            "make the file and its folder writable by this user (is the disk mounted "
            "read-only?); the next run carries on"
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            "another process held its write lock for more than "
            f"{busy_timeout.total_seconds():g} seconds; the next run carries on"
        )
    return ""


@contextmanager
def scratch_copy(path: Path) -> Iterator[Store]:
    """A throwaway copy of the state file, for dry runs, previews and a run whose state
    file cannot be written: `path` is only read."""
    with tempfile.TemporaryDirectory(prefix="publisher-dry-run-") as tmp:
        scratch = Path(tmp) / path.name
        if path.exists():
            try:
                _copy(path, scratch)
            except sqlite3.Error as e:
                raise StoreError(f"{path}: cannot read the state file ({e})") from e
        with Store.open(scratch) as store:
            yield store


def _copy(path: Path, to: Path) -> None:
    """Copy the state file at `path` to `to` without writing next to it."""
    uri = path.resolve().as_uri()
    source = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        source.close()
        # Reading a WAL file needs its -shm beside it, which a full or read-only disk may
        # not take: read the file as it stands (what its last checkpoint holds).
        source = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    copy = sqlite3.connect(to)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
