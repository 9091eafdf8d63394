"""Delivery over SMTP to a real aiosmtpd server on 127.0.0.1: every answer handled."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from delivery_helpers import T0, address, compose, seed, statuses
from factories import make_config
from smtp_server import SmtpServer, free_port, self_signed_cert

from publisher.config import Config
from publisher.delivery import DeliveryReport, deliver, open_sender
from publisher.errors import AuthenticationError
from publisher.store import Store, journal, subscribers


def smtp_config(tmp_path: Path, port: int, **smtp: Any) -> Config:
    return make_config(
        tmp_path,
        delivery={
            "method": "smtp",
            "retry_after": "5m",
            "max_attempts": 3,
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5, **smtp},
        },
    )


def run(config: Config, store: Store, now: Any = T0) -> DeliveryReport:
    return deliver(config.delivery, store, compose, now)


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


def test_a_dropped_connection_is_reopened(tmp_path: Path, server: SmtpServer) -> None:
    server.hang_up_at_mail(3)
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 5)
        report = run(config, store)
    assert sorted(server.recipients()) == [address(n) for n in range(5)]
    assert (report.sent, report.problems) == (5, ())


def test_a_4xx_leaves_the_rest_for_a_later_run(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port)
    server.refuse(address(2), "452 4.2.2 mailbox full")
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 4)
        deferred = run(config, store)
        counts_after_4xx = statuses(store)
        server.refuse(address(2), "250 OK")
        too_soon = run(config, store, T0 + timedelta(minutes=4))
        later = run(config, store, T0 + timedelta(minutes=5))
        counts = statuses(store)
    assert (deferred.sent, deferred.deferred) == (2, 2)
    (problem,) = deferred.problems
    assert problem.warning
    assert "deferred 'reader2@example.com' (452 4.2.2 mailbox full)" in str(problem)
    assert "2 message(s) left for a later run" in str(problem)
    assert counts_after_4xx == {"sent": 2, "pending": 2}
    assert too_soon == DeliveryReport()
    assert later.sent == 2
    assert counts == {"sent": 4}
    # the one that failed goes last, so one difficult address cannot hold up the rest
    assert server.recipients() == [address(0), address(1), address(3), address(2)]


def test_a_4xx_after_data_is_retried(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port)
    server.answer_next(1, "451 4.3.0 try again later")
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 2)
        deferred = run(config, store)
        later = run(config, store, T0 + timedelta(minutes=5))
    assert (deferred.sent, deferred.deferred, later.sent) == (0, 2, 2)
    assert Counter(server.recipients()) == {address(0): 1, address(1): 1}


def test_a_5xx_for_one_recipient_bounces_only_that_one(tmp_path: Path, server: SmtpServer) -> None:
    server.refuse(address(2), "550 5.1.1 <reader2@example.com>: no such user")
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 6)
        report = run(config, store)
        counts = statuses(store)
        gone = subscribers.by_id(store, ids[2])
    assert sorted(server.recipients()) == [address(n) for n in (0, 1, 3, 4, 5)]
    assert (report.sent, report.bounced) == (5, 1)
    assert counts == {"sent": 5, "bounced": 1}
    assert gone is not None
    assert gone.status == "bounced"
    assert gone.reason == "550 5.1.1 <reader2@example.com>: no such user"
    (problem,) = report.problems
    assert "refused 'reader2@example.com'" in problem.message
    assert problem.message.endswith("marked bounced")


def test_a_message_refused_after_data_fails_alone(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        ids = seed(store, 3)
        server.answer_next(1, "554 5.7.1 message rejected as spam")
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


def test_rate_paces_the_messages(tmp_path: Path, server: SmtpServer) -> None:
    config = smtp_config(tmp_path, server.port, rate=20)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        started = time.monotonic()
        report = run(config, store)
        took = time.monotonic() - started
    assert report.sent == 3
    # At most 20 a second: the third message leaves no sooner than 2/20 s after the first.
    # (A lower bound only: a slow machine makes it longer, never shorter.)
    assert took >= 2 / 20
    assert sorted(server.recipients()) == [address(n) for n in range(3)]


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
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) before giving up
    assert logins == [("news", False), ("news", False), ("news", True)]


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


def test_connection_refused_counts_an_attempt_for_every_row(tmp_path: Path) -> None:
    config = smtp_config(tmp_path, free_port())
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 3)
        reports = [run(config, store, T0 + timedelta(hours=h)) for h in range(4)]
        rows = store.conn.execute("SELECT status, attempts FROM sends").fetchall()
    assert [(r.deferred, r.failed) for r in reports] == [(3, 0), (3, 0), (0, 3), (0, 0)]
    assert "cannot connect to 127.0.0.1:" in reports[0].problems[0].message
    assert reports[0].problems[0].warning
    last = reports[2].problems[0]
    assert not last.warning
    assert "gave up on 3 message(s) after 3 attempts ([delivery] max_attempts)" in last.message
    assert rows == [("failed", 3)] * 3


def test_the_server_going_away_mid_send_resends_at_most_the_one_in_flight(
    tmp_path: Path, server: SmtpServer
) -> None:
    server.drop_at(3)
    config = smtp_config(tmp_path, server.port)
    with Store.open(tmp_path / "s.sqlite3") as store:
        seed(store, 6)
        first = run(config, store)
        in_flight = journal.due(store, T0 + timedelta(days=1))[0].recipient
        server.stop()
        down = run(config, store, T0 + timedelta(minutes=5))
        server.start()
        back = run(config, store, T0 + timedelta(minutes=30))
        counts = statuses(store)
    assert (first.sent, first.deferred) == (2, 4)
    assert "lost the connection to 127.0.0.1" in first.problems[0].message
    assert in_flight == address(2)
    assert down.sent == 0
    assert back.sent == 4
    assert counts == {"sent": 6}
    arrivals = Counter(server.recipients())
    assert set(arrivals) == {address(n) for n in range(6)}
    assert {a for a, n in arrivals.items() if n > 1} == {address(2)}


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
