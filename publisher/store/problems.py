"""The problems the last run found, so that a run under cron prints each one once.

Cron mails whatever a run prints: a broken post printed every minute is 1,440 mails a day.
Each problem is recorded under a key made from its text and the state of the file it
names (see `pipeline`); a later run prints only the problems whose key is new, and the
record always holds the problems of the last run, for `publisher status`. A problem that
goes away and comes back is new again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

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
