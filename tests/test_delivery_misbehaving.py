"""Delivery over SMTP to servers that misbehave: odd answers, answers that are not SMTP, the
connection lost after the data. Each message is sent once and only once; a fault of the
server stops the run, and the rows not tried stay pending, untouched."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from delivery_helpers import T0, address, rows, run, seed, smtp_config, statuses
from smtp_server import SmtpServer

from publisher.store import Store, subscribers


def status_of(store: Store, sid: int) -> str:
    found = subscribers.by_id(store, sid)
    assert found is not None
    return found.status


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as s:
        yield s


def test_a_bare_501_at_rcpt_bounces_that_reader_and_the_run_goes_on(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.refuse(address(1), "501 <reader1@example.com>: malformed address")
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 4)
        first = run(config, store)
        again = run(config, store, T0 + timedelta(minutes=1))
        counts = statuses(store)
        reader = status_of(store, ids[1])
    assert (first.sent, first.bounced, again.sent) == (3, 1, 0)
    assert counts == {"sent": 3, "bounced": 1}
    assert reader == "bounced"
    assert [p.message for p in first.problems] == [
        f"127.0.0.1:{server.port} refused 'reader1@example.com' (501 <reader1@example.com>: "
        "malformed address): marked bounced"
    ]
    assert again.problems == ()
    assert Counter(server.recipients()) == {address(n): 1 for n in (0, 2, 3)}


def test_a_5xx_syntax_answer_at_rcpt_for_everyone_stops_the_run_and_bounces_nobody(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.refuse_everyone("501 5.5.4 Syntax: RCPT TO:<address>")
    config = smtp_config(tmp_path, server.port, delivery={"stop_after_same_refusals": 3})
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 6)
        report = run(config, store)
        after = rows(store)
    assert (report.sent, report.bounced, report.failed) == (0, 0, 0)
    assert set(after.values()) == {("pending", 0)}
    (problem,) = report.problems
    assert problem.message.startswith(
        f"127.0.0.1:{server.port} gave 3 different recipients in a row the same answer (501 "
    )


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (
            "530 5.7.0 Authentication required",
            "{where} wants a login (or TLS) before it takes mail (530 5.7.0 Authentication "
            "required): set [delivery.smtp] username and password_env (and security)",
        ),
        (
            "503 5.5.1 Error: need RCPT command",
            "{where} answered DATA with a refusal about us or the session, not the reader (503 "
            "5.5.1 Error: need RCPT command): check [delivery.smtp] username and security, and "
            "the newsletter's sender; every row stays pending",
        ),
    ],
    ids=["530-login-wanted", "503-bad-sequence"],
)
def test_a_refusal_about_the_session_at_data_stops_the_run_untouched(
    tmp_path: Path, server: SmtpServer, reply: str, problem: str
) -> None:
    server.answer_data_command(reply)
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 4)
        refused = run(config, store)
        after = rows(store)
        people = {status_of(store, sid) for sid in ids}
        server.answer_data_command("")
        fixed = run(config, store, T0 + timedelta(minutes=1))
    assert (refused.sent, refused.bounced, refused.failed, refused.deferred) == (0, 0, 0, 4)
    assert [(p.message, p.warning) for p in refused.problems] == [
        (problem.format(where=f"127.0.0.1:{server.port}"), False)
    ]
    assert set(after.values()) == {("pending", 0)}  # nobody charged an attempt
    assert people == {"active"}
    assert (fixed.sent, fixed.problems) == (4, ())
    assert Counter(server.recipients()) == {address(n): 1 for n in range(4)}
