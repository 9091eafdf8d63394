"""Problems of the server or the settings that stopped sending, and the hold they put on it.

A run that stops sending for such a problem (a relay refusing everyone, the server down,
a refused login) records it here with its time, for `publisher status`, and, when it may
pass by itself, the time before which no journal row is sent again. Only the last 100 are
kept. Times are stored as ISO 8601 in UTC. Nothing here commits: wrap calls in
`store.transaction()`.
"""

from __future__ import annotations

import json
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
    until TEXT NOT NULL DEFAULT ''       -- no row is sent before this
);
"""

_KEPT = 100


@dataclass(frozen=True)
class DeliveryProblem:
    """A problem of the server or the settings that stopped a run's sending."""

    at: datetime
    problem: str
    newsletters: tuple[str, ...]
    until: datetime | None


def _iso(moment: datetime) -> str:
    # One fixed width, so that comparing the text compares the times (as in journal.py).
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_problem(
    store: Store,
    problem: str,
    newsletters: Iterable[str],
    now: datetime,
    until: datetime | None,
) -> None:
    """Remember a server or settings problem that stopped sending, and hold every row back
    until `until` (None: no hold)."""
    store.conn.execute(
        "INSERT INTO delivery_problems (at, problem, newsletters, until) VALUES (?, ?, ?, ?)",
        (
            _iso(now),
            problem,
            json.dumps(sorted(set(newsletters))),
            "" if until is None else _iso(until),
        ),
    )
    store.conn.execute(
        "DELETE FROM delivery_problems WHERE id <= (SELECT max(id) FROM delivery_problems) - ?",
        (_KEPT,),
    )


def held_until(store: Store, now: datetime) -> datetime | None:
    """The time before which the last server problem holds every row back, if still ahead."""
    row = store.conn.execute(
        "SELECT until FROM delivery_problems ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None or not row[0] or row[0] <= _iso(now):
        return None
    return datetime.fromisoformat(row[0])


def last_problem(store: Store, newsletter_id: str) -> DeliveryProblem | None:
    """The latest server problem that held back rows of this newsletter, if any."""
    for at, problem, newsletters, until in store.conn.execute(
        "SELECT at, problem, newsletters, until FROM delivery_problems ORDER BY id DESC"
    ):
        names = tuple(json.loads(newsletters))
        if newsletter_id in names:
            return DeliveryProblem(
                datetime.fromisoformat(at),
                problem,
                names,
                datetime.fromisoformat(until) if until else None,
            )
    return None
