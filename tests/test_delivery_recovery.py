"""Rows a dead pass left in flight, and rows a reader left while they waited to go out."""

from __future__ import annotations

import email
import mailbox
from email.message import Message
from email.policy import default
from pathlib import Path

from delivery_helpers import (
    ISSUE,
    RUN_AT,
    T0,
    compose,
    journal_counts,
    make_site,
    run_publisher,
    seed,
    statuses,
)
from factories import make_config

from publisher.delivery import deliver
from publisher.newsletters.confirm import queue_confirmation, send_confirmations
from publisher.store import Store, journal, subscribers

SECRET = b"0123456789abcdef0123456789abcdef-test-secret"


def outbox(root: Path) -> list[Message]:
    return list(mailbox.Maildir(root / "outbox", create=False))


def crash_mid_pass(store: Store, count: int) -> None:
    """Leave `count` rows 'sending' under an unfinished pass, as a killed run does."""
    rows = journal.due(store, T0)[:count]
    with store.transaction():
        journal.begin_pass(store, T0)
        journal.mark_sending(store, rows, T0)


def test_the_web_apps_confirmations_recover_a_dead_runs_rows(tmp_path: Path) -> None:
    # A run killed mid-send, then a reader subscribes: the web app's pass of
    # confirmations must not bury the dead run's rows (left 'sending' forever).
    config = make_config(tmp_path, delivery={"outbox_dir": str(tmp_path / "out")})
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        crash_mid_pass(store, 2)
        report = send_confirmations(config, store, SECRET, T0)
        assert statuses(store) == {"unknown": 2, "pending": 1}
        assert not journal.unfinished_pass(store)
        (warning,) = report.problems
        assert warning.warning and "2 message(s) were being sent" in warning.message
        resumed = deliver(config.delivery, store, compose, T0)
        assert (resumed.sent, statuses(store)) == (3, {"sent": 3})


def test_rows_of_a_dead_pass_are_sent_again_whatever_unknown_retries_says(
    tmp_path: Path,
) -> None:
    # Most rows in flight were handed to a connection and never on the wire: a crash may
    # send one again, never lose it.
    config = make_config(
        tmp_path, delivery={"outbox_dir": str(tmp_path / "out"), "unknown_retries": 0}
    )
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        crash_mid_pass(store, 2)
        assert journal.recover_in_flight(store, T0) == 2
        report = deliver(config.delivery, store, compose, T0)
        assert (report.sent, statuses(store)) == (2, {"sent": 2})


def test_a_row_cancelled_after_it_was_read_is_not_handed_out(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 2)
        rows = journal.due(store, T0)
        with store.transaction():
            journal.cancel_pending(store, ids[1], "news", "left on the web", T0)
        with store.transaction():
            gone = journal.mark_sending(store, rows, T0)
        assert [r.subscriber_id for r in gone] == [ids[1]]
        assert statuses(store, ISSUE) == {"sending": 1, "cancelled": 1}


def test_a_broken_confirmation_template_holds_back_confirmations_not_the_news(
    tmp_path: Path,
) -> None:
    config = make_site(
        tmp_path, subscribers=1, extra='[web]\nbase_url = "https://newsdao.kr/newsletter/"\n'
    )
    with Store.open(tmp_path / "state" / "publisher.sqlite3") as store, store.transaction():
        sid = subscribers.insert(
            store,
            key="new@example.com",
            email="new@example.com",
            display_email="new@example.com",
            name="",
            newsletters=["news"],
            status="pending",
            now=T0,
        )
        queue_confirmation(store, sid, "new@example.com", ["news"], T0)
    (tmp_path / "email_templates" / "confirm.html.j2").write_text(
        "{% extends 'base.html.j2' %}{% block content %}{{ no_such_thing.x }}{% endblock %}",
        encoding="utf-8",
    )
    result = run_publisher(config, "run", "--now", RUN_AT)
    assert result.returncode == 1
    assert "[web] confirmation email: cannot render the confirmation email" in result.stderr
    assert "Traceback" not in result.stderr
    sent = [email.message_from_bytes(m.as_bytes(), policy=default)["To"] for m in outbox(tmp_path)]
    assert sent == ["독자 0 <reader0@example.com>"]  # the alert went out all the same
    assert journal_counts(config) == {"sent": 1, "pending": 1}
