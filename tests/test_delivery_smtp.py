"""Delivery over SMTP to a real aiosmtpd server on 127.0.0.1: every kind of answer, each row's
fate, who received what."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from delivery_helpers import T0, address, compose, rows, run, seed, smtp_config, statuses
from smtp_server import ScriptedServer, SmtpServer, free_port, self_signed_cert

from publisher.delivery import DeliveryReport, OutgoingMessage, deliver, open_sender
from publisher.errors import AuthenticationError
from publisher.store import Store, journal, subscribers
from publisher.store.journal import PendingSend


def status_of(store: Store, sid: int) -> str:
    found = subscribers.by_id(store, sid)
    assert found is not None
    return found.status


@pytest.fixture
def server() -> Any:
    with SmtpServer() as s:
        yield s


def test_every_subscriber_gets_one_message(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 5)
        report = run(config, store)
        again = run(config, store, T0 + timedelta(hours=1))
        counts = statuses(store)
    assert sorted(server.recipients()) == [address(n) for n in range(5)]
    assert server.messages[0].parse()["Subject"] == "북·러 침략 시 상호 지원 협정 체결"
    assert (report.sent, report.problems, again.sent) == (5, (), 0)
    assert counts == {"sent": 5}


def test_readers_leaving_during_the_send_do_not_end_it_for_the_others(
    tmp_path: Path, server: SmtpServer
) -> None:
    # Eleven readers leave (the web app's one-click) after the pass read its rows: each
    # handing-out finds its rows cancelled, whole windows of them. The pass went on only
    # while something was on the wire, and ended with the others still pending.
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 20)
        left = ids[2:13]

        def leaving(row: PendingSend) -> OutgoingMessage:
            if row.subscriber_id == ids[0]:
                with store.transaction():
                    for sid in left:
                        journal.cancel_pending(store, sid, "news", "left on the web", T0)
            return compose(row)

        report = deliver(config.delivery, store, leaving, T0)
        counts = statuses(store)
    kept = [address(n) for n in range(20) if n not in range(2, 13)]
    assert sorted(server.recipients()) == sorted(kept)
    assert (report.sent, report.cancelled, report.deferred) == (9, 11, 0)
    assert counts == {"sent": 9, "cancelled": 11}


def test_connections_send_side_by_side(tmp_path: Path, server: SmtpServer) -> None:
    server.delay = 0.02  # a server far away: each connection waits on every answer
    config = smtp_config(tmp_path, server.port, connections=4)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 24)
        report = run(config, store)
        counts = statuses(store)
    assert Counter(server.recipients()) == {address(n): 1 for n in range(24)}
    assert (report.sent, report.problems, counts) == (24, (), {"sent": 24})
    assert server.most_sessions == 4


def test_connections_the_server_turns_away_leave_the_others_sending(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.session_limit = 2  # a relay that takes two connections from one address
    server.delay = 0.01
    config = smtp_config(tmp_path, server.port, connections=4)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 12)
        report = run(config, store)
        counts = statuses(store)
    assert server.turned_away >= 1
    assert (report.sent, report.problems, counts) == (12, (), {"sent": 12})
    assert Counter(server.recipients()) == {address(n): 1 for n in range(12)}


def test_with_no_unknown_retries_a_message_in_doubt_is_not_sent_again(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.drop_at(2)
    config = smtp_config(tmp_path, server.port, connections=1, delivery={"unknown_retries": 0})
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        first = run(config, store)
        later = run(config, store, T0 + timedelta(hours=1))
        counts = statuses(store)
    assert (first.sent, first.unknown, later.sent, later.unknown) == (2, 1, 0, 0)
    assert counts == {"sent": 2, "unknown": 1}
    (problem,) = first.problems
    assert not problem.warning
    assert "left 'unknown' ([delivery] unknown_retries)" in problem.message
    assert Counter(server.recipients()) == {address(n): 1 for n in range(3)}


def test_a_dropped_connection_is_reopened(tmp_path: Path, server: SmtpServer) -> None:
    server.hang_up_at_mail(3)
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 5)
        report = run(config, store)
    assert sorted(server.recipients()) == [address(n) for n in range(5)]
    assert (report.sent, report.problems) == (5, ())


def test_a_4xx_for_one_recipient_defers_that_one_and_the_rest_go(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = smtp_config(tmp_path, server.port)
    server.refuse(address(2), "452 4.2.2 mailbox full")
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 6)
        first = run(config, store)
        after_first = rows(store)
        server.refuse(address(2), "250 OK")
        too_soon = run(config, store, T0 + timedelta(minutes=4))
        later = run(config, store, T0 + timedelta(minutes=5))
        counts = statuses(store)
    assert (first.sent, first.deferred) == (5, 1)
    (problem,) = first.problems
    assert problem.warning
    assert problem.message == (
        "1 message(s) deferred by the server, each tried again after its own wait ([delivery] "
        "retry_after, doubling): 'reader2@example.com' (452 4.2.2 mailbox full)"
    )
    # only the row tried was charged an attempt
    assert after_first == {
        **{address(n): ("sent", 1) for n in (0, 1, 3, 4, 5)},
        address(2): ("pending", 1),
    }
    assert too_soon == DeliveryReport()
    assert (later.sent, later.problems) == (1, ())
    assert counts == {"sent": 6}
    assert Counter(server.recipients()) == {address(n): 1 for n in range(6)}


def test_a_4xx_after_the_data_defers_that_message_alone(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port)
    server.answer_data(address(0), "451 4.3.0 try again later")
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        deferred = run(config, store)
        server.answer_data(address(0), "")
        later = run(config, store, T0 + timedelta(minutes=5))
    assert (deferred.sent, deferred.deferred, later.sent) == (2, 1, 1)
    assert Counter(server.recipients()) == {address(n): 1 for n in range(3)}


def test_a_hard_bounce_marks_that_reader_alone(tmp_path: Path, server: SmtpServer) -> None:
    server.refuse(address(2), "550 5.1.1 <reader2@example.com>: no such user")
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 6)
        report = run(config, store)
        counts = statuses(store)
        gone = subscribers.by_id(store, ids[2])
        bounce = store.conn.execute("SELECT bounce FROM sends WHERE status = 'bounced'").fetchone()
    assert sorted(server.recipients()) == [address(n) for n in (0, 1, 3, 4, 5)]
    assert (report.sent, report.bounced) == (5, 1)
    assert counts == {"sent": 5, "bounced": 1}
    assert bounce == ("hard",)
    assert gone is not None
    assert gone.status == "bounced"
    assert gone.reason == "550 5.1.1 <reader2@example.com>: no such user"
    (problem,) = report.problems
    assert problem.warning
    assert problem.message == (
        f"127.0.0.1:{server.port} refused 'reader2@example.com' (550 5.1.1 "
        "<reader2@example.com>: no such user): marked bounced"
    )


def test_soft_bounces_mark_the_reader_only_after_the_limit(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.refuse(address(1), "552 5.2.2 mailbox full")
    config = smtp_config(tmp_path, server.port, delivery={"soft_bounce_limit": 3})
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 3)  # a first issue; two more come below
        reports, kept = [], []
        for n in range(3):
            if n:
                seed(store, 3, issue_id=f"news-{n}", created=T0 + timedelta(hours=n))
            reports.append(run(config, store, T0 + timedelta(hours=n)))
            kept.append(status_of(store, ids[1]))
        soft = store.conn.execute(
            "SELECT count(*) FROM sends WHERE status = 'bounced' AND bounce = 'soft'"
        ).fetchone()
        reason = subscribers.by_id(store, ids[1])
    assert kept == ["active", "active", "bounced"]
    assert soft == (3,)
    assert [r.bounced for r in reports] == [1, 1, 1]
    assert reports[0].problems[0].message == (
        "1 message(s) soft bounce(s), the reader kept until [delivery] soft_bounce_limit in a "
        "row: 'reader1@example.com' (552 5.2.2 mailbox full (1 of 3))"
    )
    assert (
        reports[2]
        .problems[0]
        .message.endswith(
            "soft bounces reached 3 in a row ([delivery] soft_bounce_limit): marked bounced"
        )
    )
    assert reason is not None and reason.reason.startswith("3 soft bounces in a row; the last: ")


def test_a_message_refused_after_data_fails_alone(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 3)
        server.answer_data(address(0), "554 5.7.1 message rejected as spam")
        report = run(config, store)
        counts = statuses(store)
        first = subscribers.by_id(store, ids[0])
    assert (report.sent, report.failed) == (2, 1)
    assert counts == {"sent": 2, "failed": 1}
    assert first is not None
    assert first.status == "active"  # the content was refused, not the address
    (problem,) = report.problems
    assert not problem.warning
    assert problem.message == (
        f"127.0.0.1:{server.port} refused the message to 'reader0@example.com' "
        "(554 5.7.1 message rejected as spam): not sent to this subscriber"
    )


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.7.1 <x>: Relay access denied",
        "554 5.7.1 relaying denied",
        "550 5.1.1 <x>: Recipient address rejected: User unknown in local recipient table",
        "550 no such user here",
    ],
    ids=["relay-denied-550", "relay-denied-554", "wrong-host-5.1.1", "no-enhanced-code"],
)
def test_the_same_refusal_for_everyone_bounces_nobody(
    tmp_path: Path, server: SmtpServer, reply: str
) -> None:
    server.refuse_everyone(reply)
    config = smtp_config(tmp_path, server.port, delivery={"stop_after_same_refusals": 5})
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 30)
        refused = run(config, store)
        after = rows(store)
        people = {status_of(store, sid) for sid in ids}
        server.refuse_everyone("")  # the relay is fixed
        fixed = run(config, store, T0 + timedelta(minutes=1))
        counts = statuses(store)
    assert (refused.sent, refused.bounced, refused.failed) == (0, 0, 0)
    assert set(after.values()) == {("pending", 0)}  # nobody charged an attempt
    assert people == {"active"}
    (problem,) = refused.problems
    assert not problem.warning
    assert problem.message.startswith(
        f"127.0.0.1:{server.port} gave 5 different recipients in a row the same answer ("
    )
    assert "nobody was marked bounced: check [delivery.smtp] host and username" in problem.message
    assert (fixed.sent, fixed.problems) == (30, ())
    assert counts == {"sent": 30}
    assert Counter(server.recipients()) == {address(n): 1 for n in range(30)}


def test_refused_readers_among_accepted_ones_bounce(tmp_path: Path, server: SmtpServer) -> None:
    gone = [1, 2, 3, 6]  # three in a row, fewer than stop_after_same_refusals
    for n in gone:
        server.refuse(address(n), "550 5.1.1 no such user")
    config = smtp_config(
        tmp_path, server.port, connections=1, delivery={"stop_after_same_refusals": 4}
    )
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 8)
        report = run(config, store)
        people = [status_of(store, sid) for sid in ids]
    assert (report.sent, report.bounced) == (4, 4)
    assert people == ["bounced" if n in gone else "active" for n in range(8)]


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.7.1 sender blocked by the recipient's policy",
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
    ],
    ids=["enhanced-code-first", "qmail-enhanced-code-last"],
)
def test_a_policy_refusal_of_one_reader_bounces_nobody(
    tmp_path: Path, server: SmtpServer, reply: str
) -> None:
    server.refuse(address(1), reply)
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 4)
        report = run(config, store)
        after = rows(store)
        reader = status_of(store, ids[1])
    assert (report.sent, report.bounced, report.deferred) == (3, 0, 1)
    assert after[address(1)] == ("pending", 1)
    assert reader == "active"
    (problem,) = report.problems
    assert problem.message.startswith("1 message(s) refused by a policy that may be about us")


def test_refusals_with_nobody_accepted_bounce_nobody(tmp_path: Path, server: SmtpServer) -> None:
    server.refuse_everyone("550 5.1.1 no such user")
    config = smtp_config(tmp_path, server.port)  # 10 in a row to blame the server
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 3)
        report = run(config, store)
        people = {status_of(store, sid) for sid in ids}
    assert (report.bounced, report.deferred) == (0, 3)
    assert people == {"active"}
    (problem,) = report.problems
    assert problem.message.startswith(
        "3 message(s) refused while the server accepted nobody in this pass: nobody marked bounced"
    )


def test_a_refused_sender_stops_and_bounces_nobody(tmp_path: Path, server: SmtpServer) -> None:
    server.refuse_sender("553 5.7.1 <news@newsdao.kr>: Sender address rejected: not owned by user")
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 4)
        report = run(config, store)
        after = rows(store)
        people = {status_of(store, sid) for sid in ids}
    assert server.messages == []
    (problem,) = report.problems
    assert not problem.warning
    assert problem.message == (
        f"127.0.0.1:{server.port} refused the sender 'news@newsdao.kr' (553 5.7.1 "
        "<news@newsdao.kr>: Sender address rejected: not owned by user): check the "
        "newsletter's sender address and [delivery.smtp] username (a relay may take only its "
        "own addresses)"
    )
    assert set(after.values()) == {("pending", 0)}
    assert people == {"active"}


def test_rate_paces_the_messages_across_connections(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port, rate=20, connections=3)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        started = time.monotonic()
        report = run(config, store)
        took = time.monotonic() - started
    assert report.sent == 3
    # At most 20 a second on all connections together: the third leaves no sooner than 2/20 s
    # after the first. (A lower bound only: a slow machine makes it longer, never shorter.)
    assert took >= 2 / 20
    assert sorted(server.recipients()) == [address(n) for n in range(3)]


def test_per_hour_caps_messages_across_runs(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port, per_hour=4)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 6)
        first = run(config, store)
        same_hour = run(config, store, T0 + timedelta(minutes=59))
        next_hour = run(config, store, T0 + timedelta(minutes=61))
    assert (first.sent, same_hour.sent, next_hour.sent) == (4, 0, 2)
    assert first.problems == ()
    assert Counter(server.recipients()) == {address(n): 1 for n in range(6)}


def test_a_refused_login_stops_and_names_the_settings(tmp_path: Path) -> None:
    with SmtpServer(username="news", password="right") as server:
        config = smtp_config(
            tmp_path, server.port, username="news", password_env="PUBLISHER_TEST_SMTP_PASSWORD"
        )
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 3)
            sender = open_sender(config.delivery, {"PUBLISHER_TEST_SMTP_PASSWORD": "wrong"})
            report = deliver(config.delivery, store, compose, T0, sender=sender)
            counts = statuses(store)
            sender = open_sender(config.delivery, {"PUBLISHER_TEST_SMTP_PASSWORD": "right"})
            good = deliver(config.delivery, store, compose, T0, sender=sender)
        logins = server.logins
    (problem,) = report.problems
    assert not problem.warning
    assert "refused the login (535" in problem.message
    assert "check [delivery.smtp] username ('news')" in problem.message
    assert "environment variable PUBLISHER_TEST_SMTP_PASSWORD" in problem.message
    assert counts == {"pending": 3}
    assert good.sent == 3
    assert ("news", True) in logins
    assert all(not ok for _, ok in logins[: logins.index(("news", True))])


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({"security": "starttls"}, "STARTTLS"),
        ({"username": "news", "password_env": "PW"}, "AUTH"),
    ],
    ids=["starttls", "auth"],
)
def test_a_server_without_the_extension_stops_delivery(
    tmp_path: Path, server: SmtpServer, settings: dict[str, str], missing: str
) -> None:
    config = smtp_config(tmp_path, server.port, **settings)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        sender = open_sender(config.delivery, {"PW": "x"})
        report = deliver(config.delivery, store, compose, T0, sender=sender)
        counts = statuses(store)
    (problem,) = report.problems
    assert problem.message.startswith(f"127.0.0.1:{server.port} does not offer {missing}: check ")
    assert counts == {"pending": 2}


def test_a_missing_password_variable_is_named_before_connecting(tmp_path: Path) -> None:
    config = smtp_config(tmp_path, free_port(), username="news", password_env="NO_SUCH_VAR")
    with pytest.raises(AuthenticationError) as e:
        open_sender(config.delivery, {})
    assert str(e.value) == (
        "the environment variable NO_SUCH_VAR (named by [delivery.smtp] password_env) is not "
        "set: export the SMTP password for 'news' in it"
    )


def test_a_server_down_charges_nobody_and_holds_sending_back(tmp_path: Path) -> None:
    config = smtp_config(tmp_path, free_port())
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        down = run(config, store)
        held = journal.due(store, T0 + timedelta(minutes=4))
        after = rows(store)
    assert (down.sent, down.deferred) == (0, 3)
    (problem,) = down.problems
    assert problem.warning
    assert problem.message.startswith("cannot connect to 127.0.0.1:")
    assert "check [delivery.smtp] host and port, or wait for the server" in problem.message
    assert held == ()  # every row waits retry_after, whoever's turn it was
    assert set(after.values()) == {("pending", 0)}


def test_the_server_going_away_after_the_data_leaves_that_row_unknown(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.drop_at(3)  # the 3rd message arrives, and the connection closes before its answer
    config = smtp_config(tmp_path, server.port, connections=1)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 6)
        first = run(config, store)
        after = rows(store)
        in_doubt = server.messages[2].recipients[0]
        too_soon = run(config, store, T0 + timedelta(minutes=4))
        again = run(config, store, T0 + timedelta(minutes=5))
        counts = statuses(store)
    assert (first.sent, first.unknown) == (5, 1)
    assert after[in_doubt] == ("unknown", 1)
    (problem,) = first.problems
    assert problem.warning
    assert problem.message.startswith(
        "1 message(s) sent with no answer after the data: they may have arrived"
    )
    assert too_soon.sent == 0
    assert again.sent == 1
    assert counts == {"sent": 6}
    arrivals = Counter(server.recipients())
    assert arrivals == {**{address(n): 1 for n in range(6)}, in_doubt: 2}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize(("security", "tls"), [("starttls", "starttls"), ("ssl", "ssl")])
def test_tls_with_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str, tls: str
) -> None:
    cert = self_signed_cert(tmp_path)
    # The client verifies the server like any other: trust this certificate for the test.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with SmtpServer(username="news", password="right", tls=tls, cert=cert) as server:
        config = smtp_config(
            tmp_path, server.port, security=security, username="news", password_env="PW"
        )
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 2)
            sender = open_sender(config.delivery, {"PW": "right"})
            report = deliver(config.delivery, store, compose, T0, sender=sender)
        assert (report.sent, report.problems) == (2, ())
        assert sorted(server.recipients()) == [address(0), address(1)]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_an_untrusted_certificate_is_not_accepted(tmp_path: Path) -> None:
    cert = self_signed_cert(tmp_path)
    with SmtpServer(tls="starttls", cert=cert) as server:
        config = smtp_config(tmp_path, server.port, security="starttls")
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 1)
            report = run(config, store)
    assert server.messages == []
    (problem,) = report.problems
    assert not problem.warning
    assert problem.message == (
        f"127.0.0.1:{server.port}: the server's certificate is not trusted (self-signed "
        "certificate): check [delivery.smtp] host (it must be the name on the certificate) "
        "and security"
    )


@pytest.mark.parametrize("password", ["pässwort", "비밀번호-秘密"], ids=["german", "korean"])
def test_a_password_beyond_ascii_logs_in(tmp_path: Path, password: str) -> None:
    with SmtpServer(username="news", password=password) as server:
        config = smtp_config(tmp_path, server.port, username="news", password_env="PW")
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 2)
            report = deliver(
                config.delivery,
                store,
                compose,
                T0,
                sender=open_sender(config.delivery, {"PW": password}),
            )
        logins = server.logins
    assert (report.sent, report.problems) == (2, ())
    assert logins and set(logins) == {("news", True)}


def test_a_wrong_password_beyond_ascii_is_a_refused_login_and_never_shown(tmp_path: Path) -> None:
    secret = "pässwort-ß"
    with SmtpServer(username="news", password="right") as server:
        config = smtp_config(tmp_path, server.port, username="news", password_env="PW")
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 2)
            sender = open_sender(config.delivery, {"PW": secret})
            report = deliver(config.delivery, store, compose, T0, sender=sender)
            counts = statuses(store)
    (problem,) = report.problems
    assert "refused the login (535" in problem.message
    assert secret not in str(report.problems)
    assert counts == {"pending": 2}
    for state in tmp_path.glob("s.sqlite3*"):
        assert secret.encode() not in state.read_bytes()


@pytest.mark.parametrize(
    ("ehlo", "auth", "said"),
    [
        (
            ["AUTH XOAUTH2 OAUTHBEARER"],
            "",
            "offers no login method publisher can use (it offers XOAUTH2 OAUTHBEARER; "
            "publisher logs in with PLAIN, LOGIN or CRAM-MD5): check [delivery.smtp] host "
            "and username, or use the provider's relay that takes a password (an app password)",
        ),
        (
            ["AUTH LOGIN"],
            "334 this is not base64!",
            "answered the login with an AUTH challenge that is not base64 ('this is not "
            "base64!'): check [delivery.smtp] host, port and security (is it an SMTP server?)",
        ),
    ],
    ids=["only-oauth", "challenge-not-base64"],
)
def test_a_login_that_cannot_be_made_names_the_setting(
    tmp_path: Path, ehlo: list[str], auth: str, said: str
) -> None:
    with ScriptedServer(ehlo, auth) as server:
        config = smtp_config(tmp_path, server.port, username="news", password_env="PW")
        with Store.open(tmp_path / "s.sqlite3") as store:
            seed(store, 2)
            sender = open_sender(config.delivery, {"PW": "pässwort"})
            report = deliver(config.delivery, store, compose, T0, sender=sender)
            counts = statuses(store)
    assert [(p.message, p.warning) for p in report.problems] == [
        (f"127.0.0.1:{server.port} {said}", False)
    ]
    assert counts == {"pending": 2}


def test_ssl_on_a_port_that_starts_plain_names_security_and_port(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = smtp_config(tmp_path, server.port, security="ssl")
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        report = run(config, store)
        counts = statuses(store)
    (problem,) = report.problems
    assert not problem.warning
    assert problem.message.startswith(f"the TLS handshake with 127.0.0.1:{server.port} failed (")
    assert problem.message.endswith(
        f"check [delivery.smtp] security ('ssl') and port ({server.port}): 'ssl' is for a "
        "port that speaks TLS at once (465), 'starttls' for one that starts plain (587)"
    )
    assert counts == {"pending": 2}


def test_the_same_4xx_for_everyone_charges_nobody_and_names_nobody(
    tmp_path: Path, server: SmtpServer
) -> None:
    # a server that will not take mail from us at all, saying so at each RCPT TO
    server.refuse_everyone("450 4.7.1 Client host rejected: cannot find your hostname")
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 30)
        first = run(config, store)
        after_first = rows(store)
        second = run(config, store, T0 + timedelta(minutes=6))
        after_second = rows(store)
    assert [(p.message, p.warning) for p in first.problems] == [
        (
            f"127.0.0.1:{server.port} gave 10 different recipients in a row the same answer "
            "(450 4.7.1 Client host rejected: cannot find your hostname): sending resumes "
            "after [delivery] retry_after; every row stays pending",
            True,
        )
    ]
    assert (first.sent, first.deferred, second.sent) == (0, 30, 0)
    # no attempt charged to anyone, run after run: the fault is the server's
    assert set(after_first.values()) == set(after_second.values()) == {("pending", 0)}
    assert server.messages == []
