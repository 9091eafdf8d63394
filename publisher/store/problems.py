"""The problems the last run found, so that a run under cron prints each one once.

Cron mails whatever a run prints: a broken post printed every minute is 1,440 mails a day.
Each problem is recorded under a key made from its text (or, for a server's problem, the
text without what changes from one message to the next: `Problem.same_as`) and the
content of the file it names, if it names one (a post, a template); a later run prints
only the problems whose key is new (so an edited file that is still wrong is printed
again), and the record always holds the problems of the last run, for `publisher
status`. A problem that goes away and comes back is new again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, NamedTuple

from publisher.errors import Problem

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS reported_problems (
    key TEXT PRIMARY KEY,        -- the problem and the state of what it names, hashed
    text TEXT NOT NULL,          -- as it was printed
    warning INTEGER NOT NULL,    -- 1 for a warning
    reported TEXT NOT NULL       -- when a run first printed it (ISO 8601, UTC)
) WITHOUT ROWID;
"""


class Recorded(NamedTuple):
    """A problem of the last run: as printed, whether a warning, and when first printed."""

    key: str
    text: str
    warning: bool
    reported: datetime


def report_once(
    store: Store, problems: Sequence[Problem], base: Path, now: datetime
) -> tuple[Problem, ...]:
    """Record `problems` as the last run's (file names relative to `base`); those that no
    earlier run recorded, to print."""
    current = [(problem_key(p, base), str(p), p.warning) for p in problems]
    new = record_problems(store, current, now)
    return tuple(p for p, (key, _, _) in zip(problems, current, strict=True) if key in new)


# Past this, a file a problem names is known by its size and time, not read again.
_HASHED_BYTES = 4_000_000


def problem_key(problem: Problem, base: Path) -> str:
    """The problem (its `same_as` if set) and the content of the file it names (if it names
    one), hashed."""
    digest = hashlib.sha256((problem.same_as or str(problem)).encode("utf-8"))
    path = base / problem.where
    try:
        stat = path.stat()
        if S_ISREG(stat.st_mode):
            if stat.st_size <= _HASHED_BYTES:
                digest.update(path.read_bytes())
            else:
                digest.update(f"{stat.st_size} {stat.st_mtime_ns}".encode())
    except (OSError, ValueError):  # not a file (a setting), or not one to read
        pass
    return digest.hexdigest()


def record_problems(
    store: Store, current: Sequence[tuple[str, str, bool]], now: datetime
) -> set[str]:
    """Make `current` (key, text, warning) the record of problems; the keys it did not hold.

    Writes (in its own transaction) only when the set of keys changed.
    """
    known = {row[0] for row in store.conn.execute("SELECT key FROM reported_problems")}
    keys = {key for key, _, _ in current}
    new = keys - known
    if keys == known:
        return new
    stamp = now.astimezone(UTC).isoformat()
    with store.transaction() as conn:
        conn.executemany(
            "DELETE FROM reported_problems WHERE key = ?", [(k,) for k in known - keys]
        )
        conn.executemany(
            "INSERT OR IGNORE INTO reported_problems (key, text, warning, reported) "
            "VALUES (?, ?, ?, ?)",
            [(key, text, int(warning), stamp) for key, text, warning in current],
        )
    return new


def recorded_problems(store: Store) -> list[Recorded]:
    """The problems of the last run, errors first, in the order they were first printed."""
    rows = store.conn.execute(
        "SELECT key, text, warning, reported FROM reported_problems "
        "ORDER BY warning, reported, text"
    )
    return [Recorded(k, t, bool(w), datetime.fromisoformat(r)) for k, t, w, r in rows]
