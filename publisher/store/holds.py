"""Problems of the server or the settings that stopped sending, and the hold they put on it.

A run that stops sending for such a problem (a relay refusing everyone, the server down,
a refused login) records it here with its time, for `publisher status`, and, when it may
pass by itself, the time before which no journal row is sent again. Only the last 100 are
kept. Times are stored as ISO 8601 in UTC. Nothing here commits: wrap calls in
`store.transaction()`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS delivery_problems (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    problem TEXT NOT NULL,               -- as reported: the setting to check and what happened
    newsletters TEXT NOT NULL,           -- JSON list: the newsletters whose rows it held back
    until TEXT NOT NULL DEFAULT '',      -- no row is sent before this
    same_as TEXT NOT NULL DEFAULT ''     -- what makes it the same problem next time
);
"""

_KEPT = 100


def upgrade(conn: sqlite3.Connection) -> None:
    """Add the `same_as` column to a state file written before it existed."""
    if not _has_same_as(conn):
        try:
            conn.execute(
                "ALTER TABLE delivery_problems ADD COLUMN same_as TEXT NOT NULL DEFAULT ''"
            )
        except sqlite3.OperationalError:
            if not _has_same_as(conn):  # else another process added it meanwhile
                raise


def _has_same_as(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "same_as" for row in conn.execute("PRAGMA table_info(delivery_problems)"))


@dataclass(frozen=True)
class DeliveryProblem:
    """A problem of the server or the settings that stopped a run's sending."""

    at: datetime
    problem: str
    newsletters: tuple[str, ...]
    until: datetime | None
    same_as: str = ""  # the reported problem's `Problem.same_as`


def _iso(moment: datetime) -> str:
    # One fixed width, so that comparing the text compares the times (as in journal.py).
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_problem(
    store: Store,
    problem: str,
    newsletters: Iterable[str],
    now: datetime,
    until: datetime | None,
    same_as: str = "",
) -> None:
    """Remember a server or settings problem that stopped sending, and hold every row back
    until `until` (None: no hold); `same_as`: what makes it the same problem next time."""
    store.conn.execute(
        "INSERT INTO delivery_problems (at, problem, newsletters, until, same_as) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            _iso(now),
            problem,
            json.dumps(sorted(set(newsletters))),
            "" if until is None else _iso(until),
            same_as,
        ),
    )
    store.conn.execute(
        "DELETE FROM delivery_problems WHERE id <= (SELECT max(id) FROM delivery_problems) - ?",
        (_KEPT,),
    )


def held_until(store: Store, now: datetime) -> datetime | None:
    """The time before which the last server problem holds every row back, if still ahead."""
    hold = holding(store, now)
    return None if hold is None else hold.until


def holding(store: Store, now: datetime) -> DeliveryProblem | None:
    """The last server problem, while its hold on every row is still on."""
    row = store.conn.execute(
        "SELECT at, problem, newsletters, until, same_as FROM delivery_problems "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None or not row[3] or row[3] <= _iso(now):
        return None
    return _problem(row)


def _problem(row: tuple[str, str, str, str, str]) -> DeliveryProblem:
    at, problem, newsletters, until, same_as = row
    return DeliveryProblem(
        datetime.fromisoformat(at),
        problem,
        tuple(json.loads(newsletters)),
        datetime.fromisoformat(until) if until else None,
        same_as,
    )


def last_problem(store: Store, newsletter_id: str) -> DeliveryProblem | None:
    """The latest server problem that held back rows of this newsletter, if any."""
    for row in store.conn.execute(
        "SELECT at, problem, newsletters, until, same_as FROM delivery_problems ORDER BY id DESC"
    ):
        if newsletter_id in json.loads(row[2]):
            return _problem(row)
    return None
