"""Delivery over SMTP to servers that misbehave: odd answers, answers that are not SMTP, the
connection lost after the data. Each message is sent once and only once; a fault of the
server stops the run, and the rows not tried stay pending, untouched."""

from __future__ import annotations

import socket
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


LONG_LINE = "250 2.0.0 " + "x" * 9000  # past the 8192 bytes a reply line may have


@pytest.mark.parametrize(
    ("reply", "detail", "said"),
    [
        (
            "HTTP/1.1 200 OK",
            "an answer after the data that is not SMTP ('HTTP/1.1 200 OK')",
            "a line that is not an SMTP reply ('HTTP/1.1 200 OK')",
        ),
        (
            LONG_LINE,
            f"an answer after the data that is not SMTP ('{LONG_LINE[:59]}…')",
            f"a reply line longer than 8192 bytes that is not an SMTP reply ('{LONG_LINE[:59]}…')",
        ),
    ],
    ids=["garbage", "line-too-long"],
)
def test_an_answer_after_the_data_that_is_not_smtp_leaves_it_unknown_and_stops(
    tmp_path: Path, server: SmtpServer, reply: str, detail: str, said: str
) -> None:
    server.answer_data(address(1), reply, arrived=True)  # it may well have been taken
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 4)
        first = run(config, store)
        after = rows(store)
        held = run(config, store, T0 + timedelta(minutes=4))
    assert (first.sent, first.unknown, first.deferred) == (1, 1, 2)
    assert after == {
        address(0): ("sent", 1),
        address(1): ("unknown", 1),
        address(2): ("pending", 0),  # the rest: untouched, for a later run
        address(3): ("pending", 0),
    }
    where = f"127.0.0.1:{server.port}"
    assert [(p.message, p.warning) for p in first.problems] == [
        (
            "1 message(s) sent with no answer after the data: they may have arrived, and are "
            "sent again after [delivery] retry_after (at most 1 time(s), [delivery] "
            f"unknown_retries): 'reader1@example.com' ({detail})",
            True,
        ),
        (
            f"{where} answered a message's data with {said}: the message may have arrived and "
            "is left 'unknown'; sending stops, and resumes after [delivery] retry_after",
            True,
        ),
    ]
    assert held.sent == 0  # held back until retry_after
    assert server.recipients() == [address(0), address(1)]


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("<html>", "a line that is not an SMTP reply ('<html>')"),
        (LONG_LINE, f"a reply line longer than 8192 bytes that is not an SMTP reply "
                    f"('{LONG_LINE[:59]}…')"),
    ],
    ids=["garbage", "line-too-long"],
)  # fmt: skip
def test_an_answer_at_rcpt_that_is_not_smtp_stops_with_nothing_sent(
    tmp_path: Path, server: SmtpServer, reply: str, said: str
) -> None:
    server.refuse(address(1), reply)
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 4)
        first = run(config, store)
        after = rows(store)
    assert (first.sent, first.unknown, first.deferred) == (1, 0, 3)
    assert after == {
        address(0): ("sent", 1),
        **{address(n): ("pending", 0) for n in (1, 2, 3)},
    }
    assert [(p.message, p.warning) for p in first.problems] == [
        (
            f"127.0.0.1:{server.port} answered RCPT TO with {said}: the server (or something "
            "between us, such as a proxy) is not speaking SMTP; nothing was sent, and sending "
            "resumes after [delivery] retry_after",
            True,
        )
    ]
    assert server.recipients() == [address(0)]


@pytest.mark.parametrize(
    ("greeting", "said"),
    [
        ("HTTP/1.1 400 Bad Request", "it said 'HTTP/1.1 400 Bad Request'"),
        ("SSH-2.0-OpenSSH_9.6", "it said 'SSH-2.0-OpenSSH_9.6'"),
        ("220 " + "x" * 9000, f"it said '220 {'x' * 55}…', a line too long to read"),
    ],
    ids=["http", "ssh", "line-too-long"],
)
def test_a_greeting_that_is_not_smtp_names_host_and_port(
    tmp_path: Path, server: SmtpServer, greeting: str, said: str
) -> None:
    server.greet(greeting)
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        report = run(config, store)
        after = rows(store)
    assert [(p.message, p.warning) for p in report.problems] == [
        (
            f"the server at 127.0.0.1:{server.port} did not answer as an SMTP server ({said}): "
            "check [delivery.smtp] host and port (and security)",
            False,
        )
    ]
    assert set(after.values()) == {("pending", 0)}


def unanswered_again(where: str, why: str) -> str:
    """The server problem that stops a run when messages in a row get no answer."""
    return (
        f"{where}: no answer after the data ({why}), for a second message in a row: the server "
        "may be taking messages and then dropping or stalling the connection; those in doubt "
        "are left 'unknown', the rest wait, and sending resumes after [delivery] retry_after"
    )


def test_a_server_that_drops_every_message_stops_the_run_after_a_second_in_doubt(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.drop_after_data("*")  # each message arrives; its answer never does
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 6)
        first = run(config, store)
        after = rows(store)
        held = run(config, store, T0 + timedelta(minutes=4))
    assert (first.sent, first.unknown, first.deferred) == (0, 2, 4)
    assert after == {
        **{address(n): ("unknown", 1) for n in (0, 1)},
        **{address(n): ("pending", 0) for n in (2, 3, 4, 5)},  # untouched
    }
    where = f"127.0.0.1:{server.port}"
    assert [(p.message, p.warning) for p in first.problems][-1] == (
        unanswered_again(where, "connection closed"),
        True,
    )
    assert held.sent == held.unknown == 0  # held back until retry_after
    assert server.recipients() == [address(0), address(1)]


def test_a_server_that_hangs_after_every_message_stops_with_about_one_in_doubt_per_connection(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.hang_after_data("*")
    connections, people = 4, 24
    config = smtp_config(tmp_path, server.port, connections=connections, timeout=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, people)
        report = run(config, store)
        after = rows(store)
    in_doubt = [r for r, (status, _) in after.items() if status == "unknown"]
    # One each, or two for a connection whose next message left before the run stopped.
    assert 2 <= len(in_doubt) <= 2 * connections
    assert (report.sent, report.unknown, report.deferred) == (
        0,
        len(in_doubt),
        people - len(in_doubt),
    )
    assert {after[r] for r in after if r not in in_doubt} == {("pending", 0)}
    assert sorted(server.recipients()) == sorted(in_doubt)
    assert report.problems[-1].message == unanswered_again(f"127.0.0.1:{server.port}", "timed out")


def test_one_message_in_doubt_among_accepted_ones_does_not_stop_the_run(
    tmp_path: Path, server: SmtpServer
) -> None:
    for n in (1, 3):
        server.drop_after_data(address(n))
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 5)
        report = run(config, store)
        counts = statuses(store)
    assert (report.sent, report.unknown) == (3, 2)
    assert counts == {"sent": 3, "unknown": 2}
    (problem,) = report.problems
    assert problem.message.startswith("2 message(s) sent with no answer after the data")


def test_a_server_that_takes_the_connection_and_never_greets_is_named_for_what_it_may_be(
    tmp_path: Path,
) -> None:
    # A listening socket nobody answers on: the connection is made, nothing is ever said
    # (an HTTP server waits for a request; an SMTPS port waits for TLS).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        config = smtp_config(tmp_path, port, timeout=1)
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 2)
            report = run(config, store)
            after = rows(store)
    assert [(p.message, p.warning) for p in report.problems] == [
        (
            f"the server at 127.0.0.1:{port} took the connection and said nothing within "
            "[delivery.smtp] timeout (1s): it may not be an SMTP server (an HTTP server; one "
            "that wants TLS at once, security = 'ssl'), or it is overloaded: check "
            "[delivery.smtp] host, port and security; sending resumes after [delivery] "
            "retry_after",
            True,
        )
    ]
    assert set(after.values()) == {("pending", 0)}


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ("trickle", "no answer after the data (timed out)"),
        (
            "250-still thinking\r\n" * 100 + "250 2.0.0 accepted",
            "no answer after the data (timed out (a reply of more than 100 lines or 64 KiB))",
        ),
        (
            "250-" + "x" * 8000 + "\r\n" + ("250-" + "x" * 8000 + "\r\n") * 8 + "250 ok",
            "no answer after the data (timed out (a reply of more than 100 lines or 64 KiB))",
        ),
    ],
    ids=["lines-trickling-past-the-timeout", "too-many-lines", "too-many-bytes"],
)
def test_an_answer_after_the_data_that_never_ends_is_a_timeout_and_leaves_it_unknown(
    tmp_path: Path, server: SmtpServer, answer: str, detail: str
) -> None:
    if answer == "trickle":
        server.trickle_after_data(address(0))  # "250-still thinking" ten times a second
    else:
        server.answer_data(address(0), answer, arrived=True)
    config = smtp_config(tmp_path, server.port, connections=1, timeout=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        report = run(config, store)  # the run ends: the timeout is for the whole answer
        after = rows(store)
    assert (report.sent, report.unknown) == (1, 1)
    assert after == {address(0): ("unknown", 1), address(1): ("sent", 1)}
    assert f"'reader0@example.com' ({detail})" in report.problems[0].message


def test_a_reader_whose_rcpt_breaks_the_session_waits_for_the_others_then_for_itself(
    tmp_path: Path, server: SmtpServer
) -> None:
    # The server chokes on one address alone: its RCPT TO answer is too long to be SMTP.
    server.refuse(address(1), "550 " + "x" * 9000)
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 5)
        first = run(config, store)
        after_first = rows(store)
        second = run(config, store, T0 + timedelta(minutes=6))
        after_second = rows(store)
        third = run(config, store, T0 + timedelta(minutes=12))
        after_third = rows(store)
    assert first.sent == 1 and first.problems[-1].warning
    assert "answered RCPT TO with a reply line longer than 8192" in first.problems[-1].message
    assert after_first[address(1)] == ("pending", 0)  # no attempt counted: maybe the server's
    # the next run sends to the others before trying that reader again
    assert second.sent == 3
    assert after_second == {
        **{address(n): ("sent", 1) for n in (0, 2, 3, 4)},
        address(1): ("pending", 0),
    }
    # the third time, it is that row's own temporary failure: it waits its own backoff
    assert third.sent == 0
    assert after_third[address(1)] == ("pending", 1)
    assert sorted(server.recipients()) == [address(n) for n in (0, 2, 3, 4)]


def test_a_421_at_every_rcpt_sets_nobody_aside(tmp_path: Path, server: SmtpServer) -> None:
    server.refuse_everyone("421 4.7.0 too busy, closing")  # about the server, not a reader
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        report = run(config, store)
        suspects = store.conn.execute("SELECT sum(suspect), sum(attempts) FROM sends").fetchone()
    assert report.problems[-1].message.startswith(
        f"127.0.0.1:{server.port} closed the connection twice in a row (421 4.7.0 too busy"
    )
    assert "set aside" not in str(report.problems)
    assert suspects == (0, 0)
