"""`publisher run` against servers that answer as real ones do: who received what, what became
of every row and reader, and what `publisher status` prints."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_helpers import RUN_AT, address, journal_counts, make_site, run_publisher
from smtp_server import SmtpServer

SOON = "2024-06-19T02:01:00+00:00"  # before retry_after (5m) has passed
LATER = "2024-06-19T02:05:00+00:00"
MUCH_LATER = "2024-06-19T02:30:00+00:00"


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as s:
        yield s


def rows(config: Path) -> dict[str, tuple[str, int]]:
    """Each row's recipient -> (status, attempts)."""
    with sqlite3.connect(config.parent / "state" / "publisher.sqlite3") as db:
        return {
            r: (s, a) for r, s, a in db.execute("SELECT recipient, status, attempts FROM sends")
        }


def readers(config: Path) -> dict[str, str]:
    """Each subscriber's address -> status."""
    with sqlite3.connect(config.parent / "state" / "publisher.sqlite3") as db:
        return dict(db.execute("SELECT email, status FROM subscribers").fetchall())


def status(config: Path, now: str) -> list[str]:
    """What `publisher status` prints at `now`, line by line, but the readers' line (these
    tests are about the issue's rows)."""
    result = run_publisher(config, "status", "--now", now)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if not line.startswith("  subscribers:")]


def issue_line(counts: str) -> str:
    """The end of the status line of the one issue these tests make (two posts)."""
    return f"  2 posts  {counts}"


def test_a_relay_refusing_everyone_bounces_nobody(tmp_path: Path, server: SmtpServer) -> None:
    people = 30
    server.refuse_everyone("554 5.7.1 <reader@example.com>: Relay access denied")
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port)

    refused = run_publisher(config, "run", "--now", RUN_AT)
    after_refusal = rows(config)
    shown = status(config, RUN_AT)
    server.refuse_everyone("")  # the relay is fixed
    fixed = run_publisher(config, "run", "--now", SOON)

    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert line == (
        f"[delivery.smtp]: 127.0.0.1:{server.port} gave 10 different recipients in a row the "
        "same answer (554 5.7.1 <reader@example.com>: Relay access denied): the fault is the "
        "server's or the settings', not the readers', so nobody was marked bounced: check "
        "[delivery.smtp] host and username (does this relay let us send to other domains?) "
        "and the newsletter's sender; every row stays pending"
    )
    assert set(after_refusal.values()) == {("pending", 0)}
    assert set(readers(config).values()) == {"active"}
    assert shown[1].endswith(
        issue_line(f"sent 0  pending {people}  deferred 0  unknown 0  failed 0  bounced 0 "
                   "(hard 0, soft 0)")
    )  # fmt: skip
    assert shown[2] == f"  last server problem 2024-06-19 11:00: {line}"
    assert (fixed.returncode, fixed.stderr) == (0, "")
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}
    assert journal_counts(config) == {"sent": people}


def test_one_recipient_deferred_holds_nobody_else_back(tmp_path: Path, server: SmtpServer) -> None:
    people = 20
    server.refuse(address(3), "450 4.2.1 The user is receiving mail too quickly")
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port)

    first = run_publisher(config, "run", "--now", RUN_AT)
    after_first = rows(config)
    shown = status(config, RUN_AT)
    server.refuse(address(3), "250 OK")
    too_soon = run_publisher(config, "run", "--now", SOON)
    later = run_publisher(config, "run", "--now", LATER)

    assert first.returncode == 0
    assert first.stderr == (
        "warning: [delivery.smtp]: 1 message(s) deferred by the server, each tried again after "
        "its own wait ([delivery] retry_after, doubling): 'reader3@example.com' (450 4.2.1 The "
        "user is receiving mail too quickly)\n"
    )
    assert after_first == {
        **{address(n): ("sent", 1) for n in range(people) if n != 3},
        address(3): ("pending", 1),
    }
    assert shown[1].endswith(
        issue_line(f"sent {people - 1}  pending 0  deferred 1 (next 2024-06-19 11:05)  "
                   "unknown 0  failed 0  bounced 0 (hard 0, soft 0)")
    )  # fmt: skip
    assert (too_soon.returncode, too_soon.stderr) == (0, "")
    assert (later.returncode, later.stderr) == (0, "")
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}
    assert journal_counts(config) == {"sent": people}


def test_a_server_that_takes_the_data_and_hangs_costs_that_row_alone(
    tmp_path: Path, server: SmtpServer
) -> None:
    people = 10
    server.hang_after_data(address(2))
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port, timeout="1s")

    first = run_publisher(config, "run", "--now", RUN_AT)
    after_first = rows(config)
    second = run_publisher(config, "run", "--now", LATER)  # the one retry: it hangs again
    third = run_publisher(config, "run", "--now", MUCH_LATER)
    shown = status(config, MUCH_LATER)

    assert first.returncode == 0
    assert first.stderr.startswith(
        "warning: [delivery.smtp]: 1 message(s) sent with no answer after the data: they may "
        "have arrived, and are sent again after [delivery] retry_after (at most 1 time(s), "
        "[delivery] unknown_retries): 'reader2@example.com' (no answer after the data ("
    )
    # every other row was tried once, and only once
    assert after_first == {
        **{address(n): ("sent", 1) for n in range(people) if n != 2},
        address(2): ("unknown", 1),
    }
    assert second.returncode == 1
    assert (
        "1 message(s) sent with no answer after the data, again: they may have arrived and "
        "are left 'unknown' ([delivery] unknown_retries): 'reader2@example.com'" in second.stderr
    )
    assert (third.returncode, third.stderr) == (0, "")
    assert rows(config)[address(2)] == ("unknown", 2)
    arrivals = Counter(server.recipients())
    assert arrivals == {**{address(n): 1 for n in range(people)}, address(2): 2}
    assert shown[1].endswith(
        issue_line(f"sent {people - 1}  pending 0  deferred 0  unknown 1  failed 0  bounced 0 "
                   "(hard 0, soft 0)")
    )  # fmt: skip
    assert readers(config)[address(2)] == "active"


def test_a_connection_dropped_mid_data_is_sent_again(tmp_path: Path, server: SmtpServer) -> None:
    people = 8
    server.drop_mid_data(address(4))
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port)

    first = run_publisher(config, "run", "--now", RUN_AT)
    after_first = rows(config)
    shown = status(config, RUN_AT)
    server.drop_mid_data(address(4), on=False)
    again = run_publisher(config, "run", "--now", LATER)

    assert first.returncode == 0
    assert "'reader4@example.com' (no answer after the data (" in first.stderr
    assert after_first[address(4)] == ("unknown", 1)
    assert {r: s for r, s in after_first.items() if r != address(4)} == {
        address(n): ("sent", 1) for n in range(people) if n != 4
    }
    assert "unknown 1" in shown[1]
    assert (again.returncode, again.stderr) == (0, "")
    # it never arrived the first time: everyone has it exactly once
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}
    assert journal_counts(config) == {"sent": people}


def test_421_at_connect_holds_sending_back(tmp_path: Path, server: SmtpServer) -> None:
    people = 6
    server.greet("421 4.3.2 Service not available, closing transmission channel")
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port)

    busy = run_publisher(config, "run", "--now", RUN_AT)
    shown = status(config, RUN_AT)
    server.greet("")
    held = run_publisher(config, "run", "--now", SOON)
    resumed = run_publisher(config, "run", "--now", LATER)

    assert busy.returncode == 0  # it may pass by itself: a warning
    warning = (
        f"warning: [delivery.smtp]: 127.0.0.1:{server.port} is not accepting mail now (421 "
        "4.3.2 Service not available, closing transmission channel): sending resumes after "
        "[delivery] retry_after"
    )
    assert busy.stderr.splitlines() == [warning]
    assert shown[1].endswith(
        issue_line(f"sent 0  pending {people}  deferred 0  unknown 0  failed 0  bounced 0 "
                   "(hard 0, soft 0)")
    )  # fmt: skip
    assert shown[2] == (
        "  last server problem 2024-06-19 11:00 (sending resumes at 2024-06-19 11:05): "
        + warning.removeprefix("warning: ")
    )
    assert (held.returncode, held.stderr) == (0, "")
    assert (resumed.returncode, resumed.stderr) == (0, "")
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}
    assert set(rows(config).values()) == {("sent", 1)}


def test_535_on_auth_stops_and_bounces_nobody(tmp_path: Path) -> None:
    with SmtpServer(username="news", password="right") as server:
        config = make_site(
            tmp_path,
            subscribers=4,
            smtp_port=server.port,
            smtp='username = "news"\npassword_env = "TEST_SMTP_PASSWORD"\n',
        )
        refused = run_publisher(config, "run", "--now", RUN_AT, env={"TEST_SMTP_PASSWORD": "no"})
        after = rows(config)
        shown = status(config, RUN_AT)
        accepted = run_publisher(config, "run", "--now", SOON, env={"TEST_SMTP_PASSWORD": "right"})
        arrivals = Counter(server.recipients())
    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"[delivery.smtp]: 127.0.0.1:{server.port} refused the login (535 ")
    assert set(after.values()) == {("pending", 0)}
    assert shown[2] == f"  last server problem 2024-06-19 11:00: {line}"
    assert (accepted.returncode, accepted.stderr) == (0, "")
    assert arrivals == {address(n): 1 for n in range(4)}


def test_slow_replies_are_met_with_parallel_connections(tmp_path: Path, server: SmtpServer) -> None:
    people = 24
    server.delay = 0.05  # before every reply
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port)
    result = run_publisher(config, "run", "--now", RUN_AT)
    shown = status(config, RUN_AT)
    assert (result.returncode, result.stderr) == (0, "")
    assert server.most_sessions == 4  # [delivery.smtp] connections, by default
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}
    assert shown[1].endswith(
        issue_line(f"sent {people}  pending 0  deferred 0  unknown 0  failed 0  bounced 0 "
                   "(hard 0, soft 0)")
    )  # fmt: skip


def test_a_reply_line_too_long_to_read_is_a_server_problem_not_a_traceback(
    tmp_path: Path, server: SmtpServer
) -> None:
    people = 3
    server.refuse(address(1), "550 " + "x" * 9000)
    config = make_site(tmp_path, subscribers=people, smtp_port=server.port)

    first = run_publisher(config, "run", "--now", RUN_AT)
    server.refuse(address(1), "250 OK")
    later = run_publisher(config, "run", "--now", LATER)

    assert first.returncode == 0  # it may pass by itself: a warning
    # about that reader alone: the other connections send to the rest
    assert first.stderr.splitlines() == [
        "warning: [delivery.smtp]: 1 message(s) set aside: the server broke the session at "
        "their RCPT TO (no answer in time, or one that is not SMTP); no attempt counted, "
        "each tried after the others next time: 'reader1@example.com' (1 of 3)"
    ]
    assert (later.returncode, later.stderr) == (0, "")
    assert Counter(server.recipients()) == {address(n): 1 for n in range(people)}


def test_a_server_that_drops_every_message_after_its_data_is_reported_once(
    tmp_path: Path, server: SmtpServer
) -> None:
    people = 8
    server.drop_after_data("*")  # each message arrives; its answer never does
    config = make_site(
        tmp_path, subscribers=people, smtp_port=server.port, smtp="connections = 1\n"
    )

    # cron: a run every minute, across two holds of retry_after (5 minutes)
    runs = [
        run_publisher(config, "run", "--now", f"2024-06-19T02:{minute:02d}:00+00:00")
        for minute in range(11)
    ]

    problem = (
        f"warning: [delivery.smtp]: 127.0.0.1:{server.port}: no answer after the data "
        "(connection closed), for a second message in a row: the server may be taking "
        "messages and then dropping or stalling the connection; those in doubt are left "
        "'unknown', the rest wait, and sending resumes after [delivery] retry_after"
    )
    assert all(r.returncode == 0 for r in runs)
    assert runs[0].stderr.splitlines()[-1] == problem
    # the same server problem: told once, not again each time a hold ends
    assert [n for n, r in enumerate(runs) if problem in r.stderr] == [0]
    # each message in doubt is named, each run: none is lost without a word
    assert "'reader0@example.com'" in runs[0].stderr and "'reader1@example.com'" in runs[0].stderr
    assert "'reader2@example.com'" in runs[5].stderr and "'reader3@example.com'" in runs[5].stderr
    assert "'reader4@example.com'" in runs[10].stderr
    # within a hold a run sends nothing and says nothing
    assert [n for n, r in enumerate(runs) if r.stderr] == [0, 5, 10]
    # two messages each time a hold ends, nobody's twice; the rest wait untouched
    assert Counter(server.recipients()) == {address(n): 1 for n in range(6)}
    assert rows(config) == {
        **{address(n): ("unknown", 1) for n in range(6)},
        **{address(n): ("pending", 0) for n in range(6, people)},
    }
