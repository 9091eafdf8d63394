"""Resuming an earlier issue: rendered again from the posts as they are, leavers skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from delivery_helpers import RUN_AT, SECRET_ENV, address, journal_counts, make_site
from smtp_server import SmtpServer, free_port

from publisher.config import Config, load_config
from publisher.newsletters.subscribers import remove_subscriber
from publisher.options import RunOptions
from publisher.pipeline import RunReport, run
from publisher.store import Store

START = datetime.fromisoformat(RUN_AT)
RETRY = START + timedelta(minutes=10)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as s:
        yield s


def deferred_site(tmp_path: Path, server: SmtpServer) -> Config:
    """A site whose first run queued one issue of two posts for 4 people and sent nothing (the
    server was down)."""
    config = load_config(make_site(tmp_path, subscribers=4, smtp_port=server.port))
    server.stop()
    first = run(config, START, RunOptions(environ=SECRET_ENV))
    server.start()
    assert (len(first.issues), first.sent, first.deferred) == (1, 0, 4)
    return config


def texts(server: SmtpServer) -> list[str]:
    bodies = []
    for arrival in server.messages:
        part = arrival.parse().get_body(("plain",))
        assert part is not None
        bodies.append(part.get_content())
    return bodies


def test_a_resumed_issue_shows_only_the_posts_still_there(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = deferred_site(tmp_path, server)
    (tmp_path / "content" / "2024-06-19-post-1.html").unlink()
    report = run(config, RETRY, RunOptions(environ=SECRET_ENV))
    assert (report.sent, report.issues, report.problems) == (4, (), ())
    assert sorted(server.recipients()) == [address(n) for n in range(4)]
    for text in texts(server):
        assert "속보 0: 북·러 침략 시 상호 지원 협정 체결" in text
        assert "속보 1:" not in text


def test_an_issue_whose_posts_are_all_gone_is_cancelled(tmp_path: Path, server: SmtpServer) -> None:
    config = deferred_site(tmp_path, server)
    for post in (tmp_path / "content").iterdir():
        post.unlink()
    report = run(config, RETRY, RunOptions(environ=SECRET_ENV))
    (problem,) = report.problems
    assert problem.warning
    assert problem.message == "not sent: every post it showed has been removed"
    assert server.messages == []
    assert journal_counts(config.path) == {"cancelled": 4}


def test_someone_who_left_before_the_resume_gets_nothing(
    tmp_path: Path, server: SmtpServer
) -> None:
    config = deferred_site(tmp_path, server)
    with Store.open(config.store.path) as store:
        remove_subscriber(store, address(1), START)
    report = run(config, RETRY, RunOptions(environ=SECRET_ENV))
    assert report.sent == 3
    assert sorted(server.recipients()) == [address(n) for n in (0, 2, 3)]
    assert journal_counts(config.path) == {"sent": 3, "cancelled": 1}


def test_a_dry_run_over_smtp_connects_to_nothing(tmp_path: Path) -> None:
    config = load_config(make_site(tmp_path, subscribers=3, smtp_port=free_port()))
    report: RunReport = run(config, START, RunOptions(dry_run=True, environ=SECRET_ENV))
    assert (len(report.issues), report.sent, report.problems) == (1, 3, ())
    assert report.summary() == "2 posts, 9 feed files to write, 1 new issue, 3 emails to send"
    assert not config.store.path.with_name("publisher.sqlite3.lock").exists()
