"""Delivery to the outbox: a Maildir of whole .eml files, each message once."""

from __future__ import annotations

import mailbox
from pathlib import Path

from delivery_helpers import ISSUE, T0, address, compose, seed, statuses
from factories import make_config

from publisher.delivery import deliver
from publisher.delivery.outbox import Outbox, message_filename
from publisher.store import Store, journal


def test_every_pending_row_becomes_one_file_and_is_marked_sent(tmp_path: Path) -> None:
    config = make_config(tmp_path, delivery={"outbox_dir": "out"})
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        report = deliver(config.delivery, store, compose, T0)
        again = deliver(config.delivery, store, compose, T0)
        counts = statuses(store)
    box = mailbox.Maildir(tmp_path / "out", create=False)
    assert sorted(m["To"] for m in box) == [address(0), address(1), address(2)]
    assert (report.sent, report.problems) == (3, ())
    assert again.sent == 0
    assert counts == {"sent": 3}
    assert list((tmp_path / "out" / "tmp").iterdir()) == []


def test_writing_a_message_again_replaces_its_file(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "out")
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 1)
        (row,) = journal.due(store, T0)
    message = compose(row)
    outbox.send_batch([message])
    outbox.send_batch([message])  # as after a crash between the rename and the journal's commit
    outbox.close()
    files = list((tmp_path / "out" / "new").iterdir())
    assert [f.name for f in files] == [message_filename(message)]
    assert files[0].read_bytes() == message.data
    assert message_filename(message) == f"{ISSUE}.{row.subscriber_id}.eml"


def test_rows_of_people_who_left_are_cancelled(tmp_path: Path) -> None:
    config = make_config(tmp_path, delivery={"outbox_dir": "out"})
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 3)
        report = deliver(
            config.delivery,
            store,
            lambda row: None if row.subscriber_id == ids[1] else compose(row),
            T0,
        )
        counts = statuses(store)
    assert (report.sent, report.cancelled) == (2, 1)
    assert counts == {"sent": 2, "cancelled": 1}


def test_an_unwritable_outbox_is_reported_and_nothing_is_marked(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file where the folder should be")
    config = make_config(tmp_path, delivery={"outbox_dir": "out"})
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        report = deliver(config.delivery, store, compose, T0)
        counts = statuses(store)
    assert counts == {"pending": 2}
    (problem,) = report.problems
    assert "cannot create the outbox" in problem.message
    assert "check [delivery] outbox_dir" in problem.message
