"""`publisher run` in real processes against a real SMTP server: crashes, races, retries."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from delivery_helpers import (
    RUN_AT,
    address,
    in_flight,
    journal_counts,
    make_site,
    recovered_warning,
    run_publisher,
    start_publisher,
)
from smtp_server import SmtpServer

LATER = "2024-06-19T02:01:00+00:00"
MUCH_LATER = "2024-06-19T02:30:00+00:00"
PEOPLE = 12


@pytest.fixture
def server() -> object:
    with SmtpServer() as s:
        yield s


@pytest.mark.parametrize("held", [True, False], ids=["killed-awaiting-reply", "killed-anywhere"])
def test_a_killed_parallel_send_resumes_and_repeats_at_most_one_per_connection(
    tmp_path: Path, server: SmtpServer, held: bool
) -> None:
    people = 80
    server.delay = 0.005  # a little distance, so the kill finds every connection busy
    config = make_site(
        tmp_path, subscribers=people, smtp_port=server.port, smtp="connections = 4\n"
    )
    if held:
        server.hold_at(10)  # the 10th message arrives; its "250" never reaches the sender
    proc = start_publisher(config, "run", "--now", RUN_AT)
    server.wait_for(10)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    server.release()
    left_sending = in_flight(config)
    before = Counter(server.recipients())
    assert sum(before.values()) < people, "the run finished before it was killed"

    resumed = run_publisher(config, "run", "--now", LATER)
    status = run_publisher(config, "status", "--now", LATER)

    assert proc.returncode == -signal.SIGKILL
    assert resumed.returncode == 0, resumed.stderr
    # a row is handed to a connection (and marked) before its data goes out, and a
    # connection sends no data before its last answer is recorded: at most 2 per connection
    assert 0 < len(left_sending) <= 2 * 4
    assert resumed.stderr == recovered_warning(len(left_sending))
    arrivals = Counter(server.recipients())
    assert set(arrivals) == {address(n) for n in range(people)}
    twice = {a for a, n in arrivals.items() if n > 1}
    assert twice <= left_sending
    assert len(twice) <= 4  # the messages on the wire: one per connection
    assert max(arrivals.values()) <= 2
    if held:
        assert server.messages[9].recipients[0] in left_sending
    assert journal_counts(config) == {"sent": people}
    assert f"sent {people}  pending 0  deferred 0  unknown 0  failed 0" in status.stdout


def test_two_runs_started_together_send_each_message_once(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = make_site(tmp_path, subscribers=PEOPLE, smtp_port=server.port)
    procs = [start_publisher(config, "run", "--now", RUN_AT) for _ in range(2)]
    results = [p.communicate() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert Counter(server.recipients()) == {address(n): 1 for n in range(PEOPLE)}
    assert journal_counts(config) == {"sent": PEOPLE}


def test_a_second_run_finding_the_lock_held_exits_at_once(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = make_site(tmp_path, subscribers=3, smtp_port=server.port)
    server.hold_at(1)
    first = start_publisher(config, "run", "--now", RUN_AT)
    server.wait_for(1)  # the first run holds the lock and is mid-send
    second = run_publisher(config, "-v", "run", "--now", RUN_AT)
    server.release()
    out, err = first.communicate(timeout=60)
    assert second.returncode == 0
    assert second.stdout == ""
    assert "another publisher run holds" in second.stderr
    assert "publisher.sqlite3.lock: nothing done" in second.stderr
    assert (first.returncode, out, err) == (0, "", "")
    assert Counter(server.recipients()) == {address(n): 1 for n in range(3)}


def test_a_4xx_is_retried_by_a_later_run(tmp_path: Path, server: SmtpServer) -> None:
    config = make_site(tmp_path, subscribers=3, smtp_port=server.port)
    server.answer_data(address(0), "451 4.7.1 greylisted, try again later")
    deferred = run_publisher(config, "run", "--now", RUN_AT)
    server.answer_data(address(0), "")
    too_soon = run_publisher(config, "run", "--now", LATER)
    retried = run_publisher(config, "-v", "run", "--now", MUCH_LATER)

    assert deferred.returncode == 0
    assert deferred.stdout == ""
    assert deferred.stderr == (
        "warning: [delivery.smtp]: 1 message(s) deferred by the server, each tried again after "
        "its own wait ([delivery] retry_after, doubling): 'reader0@example.com' (451 4.7.1 "
        "greylisted, try again later)\n"
    )
    assert (too_soon.returncode, too_soon.stdout, too_soon.stderr) == (0, "", "")
    assert retried.returncode == 0
    assert retried.stdout.strip() == "2 posts, 0 feed files written, 0 new issues, 1 email sent"
    assert Counter(server.recipients()) == {address(n): 1 for n in range(3)}
    assert journal_counts(config) == {"sent": 3}


def test_a_refused_login_exits_1_naming_the_settings(tmp_path: Path) -> None:
    with SmtpServer(username="news", password="right") as server:
        config = make_site(
            tmp_path,
            subscribers=2,
            smtp_port=server.port,
            smtp='username = "news"\npassword_env = "TEST_SMTP_PASSWORD"\n',
        )
        refused = run_publisher(config, "run", "--now", RUN_AT, env={"TEST_SMTP_PASSWORD": "no"})
        accepted = run_publisher(config, "run", "--now", LATER, env={"TEST_SMTP_PASSWORD": "right"})
        arrivals = server.recipients()
    assert refused.returncode == 1
    assert "[delivery.smtp]: 127.0.0.1:" in refused.stderr
    assert "refused the login (535" in refused.stderr
    assert (
        "check [delivery.smtp] username ('news') and the password in the environment "
        "variable TEST_SMTP_PASSWORD" in refused.stderr
    )
    assert (accepted.returncode, accepted.stderr) == (0, "")
    assert sorted(arrivals) == [address(0), address(1)]


def test_sigterm_lets_a_run_record_the_message_in_flight(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = make_site(tmp_path, subscribers=5, smtp_port=server.port, smtp="connections = 1\n")
    server.hold_at(2)
    proc = start_publisher(config, "-vv", "run", "--now", RUN_AT)
    server.wait_for(2)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the run has heard the signal
        if "stopping: finishing the message in flight" in line:
            break
    server.release()
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert journal_counts(config) == {"sent": 2, "pending": 3}
    resumed = run_publisher(config, "run", "--now", LATER)
    assert resumed.returncode == 0
    assert Counter(server.recipients()) == {address(n): 1 for n in range(5)}
