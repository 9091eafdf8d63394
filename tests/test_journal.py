"""The send journal: issues recorded once, rows walked in order, retries backing off."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from delivery_helpers import ISSUE, T0, address, seed

from publisher.store import Store, journal


def test_issue_is_recorded_once_and_read_back(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        with store.transaction():
            first = journal.record_issue(
                store,
                issue_id="news-1",
                newsletter_id="news",
                post_ids=["b", "a"],
                created=T0,
                more_ids=["c"],
            )
            again = journal.record_issue(
                store, issue_id="news-1", newsletter_id="news", post_ids=["x"], created=T0
            )
        issue = journal.get_issue(store, "news-1")
    assert (first, again) == (True, False)
    assert issue == journal.StoredIssue("news-1", "news", ("b", "a"), T0, ("c",))
    assert issue.created.tzinfo is not None


def test_enqueue_ignores_rows_already_there(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 3)
        with store.transaction():
            added = journal.enqueue(store, ISSUE, [(ids[0], address(0)), (999, "new@example.com")])
        assert added == 1
        pending = store.conn.execute("SELECT count(*) FROM sends WHERE status = 'pending'")
        assert pending.fetchone()[0] == 4


def test_due_rows_come_oldest_issue_first_then_fewest_attempts(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2, issue_id="news-later", created=T0 + timedelta(hours=1))
        seed(store, 3, issue_id="news-earlier", created=T0)
        first = journal.due(store, T0 + timedelta(hours=2))[0]
        with store.transaction():
            journal.retry_later(
                store, first, "451 later", T0, retry_after=timedelta(0), max_attempts=5
            )
        rows = journal.due(store, T0 + timedelta(hours=2))
    assert [r.issue_id for r in rows] == ["news-earlier"] * 3 + ["news-later"] * 2
    assert [r.attempts for r in rows[:3]] == [0, 0, 1]
    assert rows[2].subscriber_id == first.subscriber_id


def test_retry_later_doubles_the_wait_then_gives_up(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 1)
        waits = []
        now = T0
        kept = True
        while kept:
            (row,) = journal.due(store, now)
            with store.transaction():
                kept = journal.retry_later(
                    store, row, "451 later", now, retry_after=timedelta(minutes=5), max_attempts=4
                )
            if kept:
                assert journal.due(store, now) == ()
                (not_before,) = store.conn.execute("SELECT not_before FROM sends").fetchone()
                waits.append(datetime.fromisoformat(not_before) - now)
                now = datetime.fromisoformat(not_before)
        (status, attempts, reply) = store.conn.execute(
            "SELECT status, attempts, reply FROM sends"
        ).fetchone()
    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert (status, attempts, reply) == ("failed", 4, "451 later")


def test_last_issues_counts_rows_by_status(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 4, issue_id="news-a", created=T0)
        seed(store, 2, issue_id="news-b", created=T0 + timedelta(days=1))
        rows = journal.due(store, T0 + timedelta(days=2))
        with store.transaction():
            journal.mark_sent(store, rows[0], "<m0>", T0)
            journal.mark_bounced(store, rows[1], "550 no such user", T0)
            journal.mark_failed(store, rows[2], "554 spam", T0)
        latest, earlier = journal.last_issues(store, "news")
    assert latest.issue.id == "news-b"
    assert (latest.sent, latest.pending) == (0, 2)
    assert (earlier.sent, earlier.bounced, earlier.failed, earlier.pending) == (1, 1, 1, 1)
