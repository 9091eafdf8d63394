"""The send journal: issues recorded once, rows walked in order, retries backing off."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from delivery_helpers import ISSUE, T0, address, seed

from publisher.store import Store, issues, journal


def test_issue_is_recorded_once_and_read_back(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        with store.transaction():
            first = issues.record_issue(
                store,
                issue_id="news-1",
                newsletter_id="news",
                post_ids=["b", "a"],
                created=T0,
                more_ids=["c"],
            )
            again = issues.record_issue(
                store, issue_id="news-1", newsletter_id="news", post_ids=["x"], created=T0
            )
        issue = issues.get_issue(store, "news-1")
    assert (first, again) == (True, False)
    assert issue == issues.StoredIssue("news-1", "news", ("b", "a"), T0, ("c",))
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
        seed(store, 8, issue_id="news-a", created=T0)
        seed(store, 2, issue_id="news-b", created=T0 + timedelta(days=1))
        now = T0 + timedelta(days=2)
        rows = journal.due(store, now)
        with store.transaction():
            journal.mark_sent(store, rows[0], "<m0>", T0)
            journal.mark_bounced(store, rows[1], "550 5.1.1 no such user", T0)
            journal.mark_bounced(store, rows[2], "552 5.2.2 mailbox full", T0, "soft")
            journal.mark_failed(store, rows[3], "554 spam", T0)
            journal.retry_later(
                store, rows[4], "451 later", now, retry_after=timedelta(minutes=5), max_attempts=5
            )
            journal.mark_unknown(store, rows[5], "timed out", now, now + timedelta(minutes=5))
            journal.mark_sending(store, [rows[6]], now)
        latest, earlier = issues.last_issues(store, "news", now)
    assert latest.issue.id == "news-b"
    assert (latest.sent, latest.pending) == (0, 2)
    assert earlier == issues.IssueCounts(
        earlier.issue,
        sent=1,
        pending=1,
        deferred=1,
        next_attempt=now + timedelta(minutes=5),
        sending=1,
        unknown=1,
        failed=1,
        hard_bounced=1,
        soft_bounced=1,
        cancelled=0,
    )
    assert earlier.bounced == 2


def test_a_state_file_from_before_issue_11_opens_with_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.executescript(
        """
        INSERT INTO issues VALUES ('news-1', 'news', '["p"]', '2024-06-19T01:00:00+00:00', '[]');
        INSERT INTO sends (issue_id, subscriber_id, recipient, status, attempts, reply)
            VALUES ('news-1', 1, 'a@example.com', 'sent', 1, ''),
                   ('news-1', 2, 'b@example.com', 'bounced', 1, '550 5.1.1 gone'),
                   ('news-1', 3, 'c@example.com', 'pending', 2, '451 later');
        """
    )
    old.commit()
    old.close()
    with Store.open(path) as store:
        rows = store.conn.execute(
            "SELECT subscriber_id, status, attempts, reply, bounce, unknowns FROM sends "
            "ORDER BY subscriber_id"
        ).fetchall()
        (due,) = journal.due(store, T0 + timedelta(days=1))
        with store.transaction():
            journal.mark_sending(store, [due], T0)
            journal.mark_unknown(store, due, "timed out", T0, T0)  # a status the old file refused
        (counts,) = issues.last_issues(store, "news", T0)
    with Store.open(path) as again:  # upgraded once; opening again changes nothing
        assert again.conn.execute("SELECT count(*) FROM sends").fetchone() == (3,)
    assert rows == [
        (1, "sent", 1, "", "", 0),
        (2, "bounced", 1, "550 5.1.1 gone", "", 0),
        (3, "pending", 2, "451 later", "", 0),
    ]
    assert due.recipient == "c@example.com"
    assert (counts.sent, counts.hard_bounced, counts.unknown) == (1, 1, 1)


# The journal's tables as the state files of before issue 11 hold them.
OLD_SCHEMA = """
CREATE TABLE issues (
    id TEXT PRIMARY KEY,
    newsletter_id TEXT NOT NULL,
    post_ids TEXT NOT NULL,
    created TEXT NOT NULL,
    more_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX issues_by_newsletter ON issues (newsletter_id, created);
CREATE TABLE sends (
    issue_id TEXT NOT NULL REFERENCES issues (id),
    subscriber_id INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'bounced', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL DEFAULT '',
    reply TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (issue_id, subscriber_id)
) WITHOUT ROWID;
CREATE INDEX sends_pending ON sends (issue_id, attempts, subscriber_id)
    WHERE status = 'pending';
"""
