"""The archive: every issue's page (the email without what is one reader's, every post it
announced), an index page and an Atom feed per newsletter; the emails link to the page,
which is there before the email arrives; written once, and never by a quiet run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import pytest
from delivery_helpers import RUN_AT, address, make_site, start_publisher
from email_helpers import BREAKING, T0, email_config, parse, post_at
from smtp_server import SmtpServer

from publisher import __version__
from publisher.config import Config, load_config
from publisher.content.post import Post
from publisher.newsletters.send import send_newsletters
from publisher.options import RunOptions
from publisher.pipeline import run
from publisher.store import Store

SECRET = {"PUBLISHER_SECRET": "0123456789abcdef0123456789abcdef-test-secret"}
GOLDEN = Path(__file__).parent / "golden" / "archive"
ARCHIVE = "archive/breaking"
READERS = [{"email": f"reader{n}@example.com", "name": f"독자 {n}"} for n in range(2)]


def site(tmp_path: Path, **sections: Any) -> Config:
    newsletter = {**BREAKING, **sections.pop("newsletter", {})}
    delivery = {"outbox_dir": str(tmp_path / "outbox"), **sections.pop("delivery", {})}
    return email_config(
        tmp_path,
        newsletters=[newsletter],
        subscribers=READERS,
        feeds={"output_dir": str(tmp_path / "public")},
        delivery=delivery,
        **sections,
    )


def send(config: Config, posts: list[Post], at: Any = T0, dry_run: bool = False) -> Any:
    report = send_newsletters(config, posts, at, RunOptions(environ=SECRET, dry_run=dry_run))
    assert all(p.warning for p in report.problems), [str(p) for p in report.problems]
    return report


def news(n: int, minutes: int = 0, **fields: Any) -> Post:
    """Post n, dated `minutes` before T0, in the breaking newsletter's category."""
    return post_at(n, T0 - timedelta(minutes=minutes), **fields)


def emails(tmp_path: Path) -> list[Any]:
    new = tmp_path / "outbox" / "new"
    return [parse(p.read_bytes()) for p in sorted(new.iterdir())]


def html_of(message: Any) -> Any:
    return lxml.html.document_fromstring(message.get_body(("html",)).get_content())


def files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_each_email_links_to_its_page_which_holds_nothing_of_one_reader(tmp_path: Path) -> None:
    config = site(tmp_path)
    report = send(config, [news(1)])
    (issue_id,) = report.issues
    url = f"https://newsdao.kr/{ARCHIVE}/{issue_id}.html"
    path = tmp_path / "public" / ARCHIVE / f"{issue_id}.html"
    assert report.archived == (path,)
    page_text = path.read_text(encoding="utf-8")
    page = lxml.html.document_fromstring(page_text)
    for message in emails(tmp_path):
        email_html = html_of(message)
        (view,) = email_html.find_class("view-online")
        assert [(a.text, a.get("href")) for a in view.iterfind(".//a")] == [("웹에서 보기", url)]
        # Wrapped at 72 columns, the link stands on its own line, whole.
        assert f"웹에서 보기:\n{url}\n" in message.get_body(("plain",)).get_content()
        # The page is the email: the same post, the same words and links...
        assert lxml.html.tostring(page.find_class("content")[0]) == lxml.html.tostring(
            email_html.find_class("content")[0]
        )
        assert page.findtext(".//title") == message["Subject"]
    # ...without the reader: no address, no unsubscribe link or token, no link to itself.
    for reader in READERS:
        assert reader["email"] not in page_text
    for gone in ("token=", "unsubscribe", "__publisher_", "받는 사람", "수신 거부", "웹에서 보기"):
        assert gone not in page_text
    links = [v for e in page.iter() for k, v in e.items() if k in ("href", "src")]
    assert links and all(v.startswith("https://") for v in links)  # all absolute
    assert page.find_class("footer")[0].text_content().split() == (
        ["뉴스다오", "속보", "뉴스레터를", "구독하셔서", "받으신", "메일입니다.", "뉴스다오"]
    )


def test_and_n_more_leads_to_the_page_that_lists_every_post(tmp_path: Path) -> None:
    config = site(tmp_path, newsletter={"max_posts": 2})
    posts = [news(n, minutes=n) for n in range(1, 6)]
    (issue_id,) = send(config, posts).issues
    url = f"https://newsdao.kr/{ARCHIVE}/{issue_id}.html"
    message = emails(tmp_path)[0]
    (more,) = html_of(message).find_class("more")
    assert [(a.text, a.get("href")) for a in more.iterfind(".//a")] == [("외 3건 더 보기", url)]
    assert f"외 3건 더 보기:\n{url}" in message.get_body(("plain",)).get_content()
    page = lxml.html.parse(str(tmp_path / "public" / ARCHIVE / f"{issue_id}.html")).getroot()
    titles = [h.text_content() for h in page.find_class("item-title")]
    assert titles == [p.title for p in posts]  # the two shown and the three more
    assert not page.find_class("more")


def test_the_page_is_there_when_the_email_arrives(tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = make_site(tmp_path, subscribers=2, smtp_port=server.port)
        server.hold_at(1)  # the first message has arrived; the run waits for the answer
        run = start_publisher(config, "run", "--now", RUN_AT)
        try:
            (first,) = server.wait_for(1)
            (view,) = html_of(first.parse()).find_class("view-online")
            url = view.find(".//a").get("href")
            assert url.startswith("https://newsdao.kr/archive/news/")
            page = tmp_path / "public" / url.removeprefix("https://newsdao.kr/")
            assert page.is_file()
            assert (tmp_path / "public" / "archive" / "news" / "index.html").is_file()
        finally:
            server.release()
            _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert sorted(server.recipients()) == [address(0), address(1)]


def test_index_and_feed_list_every_issue_newest_first(tmp_path: Path) -> None:
    config = site(tmp_path)
    first = send(config, [news(1)]).issues[0]
    later = T0 + timedelta(hours=1)
    second = send(config, [post_at(3, later), post_at(2, later)], at=later).issues[0]
    folder = tmp_path / "public" / ARCHIVE
    index = lxml.html.parse(str(folder / "index.html")).getroot()
    listed = [(a.get("href"), a.text) for a in index.find_class("item-title")]
    assert listed == [
        (f"{second}.html", "[뉴스다오 속보] 북·러 침략 시 상호 지원 협정 체결 3 외 1건"),
        (f"{first}.html", "[속보] 북·러 침략 시 상호 지원 협정 체결 1"),
    ]
    assert all((folder / href).is_file() for href, _ in listed)
    assert index.find(".//link[@rel='alternate']").get("href") == "atom.xml"
    assert index.find_class("readers")[0].find("a").get("href") == "atom.xml"

    data = (folder / "atom.xml").read_bytes()
    assert data.splitlines()[1] == b'<?xml-stylesheet type="text/css" href="../../feed.css"?>'
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "뉴스다오 속보 지난 호"
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert self_link == f"https://newsdao.kr/{ARCHIVE}/atom.xml"
    assert [e.link for e in feed.entries] == [
        f"https://newsdao.kr/{ARCHIVE}/{i}.html" for i in (second, first)
    ]
    assert feed.entries[0].published == "2024-06-19T21:00:00+09:00"
    assert feed.entries[0].summary == (
        "북·러 침략 시 상호 지원 협정 체결 3 · 북·러 침략 시 상호 지원 협정 체결 2"
    )
    links = lxml.html.fromstring(feed.entries[0].content[0].value).iterfind(".//a")
    assert [a.get("href") for a in links] == [post_at(n, T0).url for n in (3, 2)]


def test_the_feed_holds_the_latest_issues_up_to_the_limit(tmp_path: Path) -> None:
    config = site(tmp_path, archive={"limit": 2})
    for n in range(1, 4):
        at = T0 + timedelta(hours=n)
        send(config, [post_at(n, at)], at=at)
    folder = tmp_path / "public" / ARCHIVE
    assert len(feedparser.parse((folder / "atom.xml").read_bytes()).entries) == 2
    assert len(lxml.html.parse(str(folder / "index.html")).getroot().find_class("item-title")) == 3


def test_written_once_and_never_by_a_quiet_run(tmp_path: Path) -> None:
    config = site(tmp_path)
    send(config, [news(1)])
    before = files(tmp_path / "public")
    # Nothing new (the post is announced), then not due: no page, index or feed is touched.
    quiet = send(config, [news(1)], at=T0 + timedelta(minutes=5))
    assert (quiet.issues, quiet.archived) == ((), ())
    assert files(tmp_path / "public") == before


def test_a_dry_run_writes_no_page(tmp_path: Path) -> None:
    config = site(tmp_path)
    report = send(config, [news(1)], dry_run=True)
    assert report.issues and report.archived == ()
    assert not (tmp_path / "public").exists()


def test_without_the_archive_the_email_leads_to_the_site(tmp_path: Path) -> None:
    config = site(tmp_path, archive={"enabled": False}, newsletter={"max_posts": 1})
    send(config, [news(1), news(2, minutes=1)])
    assert not (tmp_path / "public").exists()
    message = emails(tmp_path)[0]
    email_html = html_of(message)
    assert not email_html.find_class("view-online")
    (more,) = email_html.find_class("more")
    assert more.find(".//a").get("href") == "https://newsdao.kr/"
    assert "웹에서 보기" not in message.get_body(("plain",)).get_content()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def test_an_issue_resumed_later_gets_the_page_it_missed(tmp_path: Path, smtp: SmtpServer) -> None:
    def config(enabled: bool) -> Config:
        delivery = {"smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none"}}
        return site(tmp_path, archive={"enabled": enabled}, delivery={"method": "smtp", **delivery})

    smtp.stop()  # the server is down: the issue is recorded, its messages wait
    first = send(config(False), [news(1)])
    assert first.delivery.deferred and not (tmp_path / "public").exists()
    smtp.start()
    resumed = send(config(True), [news(1)], at=T0 + timedelta(minutes=10))
    assert resumed.issues == ()  # no new issue: the earlier one is sent now
    (page,) = resumed.archived
    assert page.name == f"{first.issues[0]}.html"
    assert [a.text for a in html_of(smtp.messages[0].parse()).find_class("view-online")[0]] == [
        "웹에서 보기"
    ]
    with Store.open(tmp_path / "state.sqlite3") as store:
        (count,) = store.conn.execute("SELECT count(*) FROM archive_pages").fetchone()
    assert count == 1


def test_an_archive_that_cannot_be_written_leaves_the_emails_going(tmp_path: Path) -> None:
    (tmp_path / "public").write_text("a file where the output folder should be")
    report = send_newsletters(site(tmp_path), [news(1)], T0, RunOptions(environ=SECRET))
    assert report.delivery.sent == 2
    (problem,) = report.problems
    assert problem.where == "[archive] dir"
    assert "cannot write the archive" in problem.message
    assert "the emails still go out" in problem.message


@pytest.mark.parametrize("name", ["issue.html", "index.html", "atom.xml"])
def test_golden(tmp_path: Path, name: str) -> None:
    config = site(tmp_path, newsletter={"max_posts": 2})
    posts = [news(n, minutes=n, title=f"속보 {n} <&> 제목") for n in range(1, 5)]
    (issue_id,) = send(config, posts).issues
    folder = tmp_path / "public" / ARCHIVE
    source = folder / (f"{issue_id}.html" if name == "issue.html" else name)
    # The generator's version is the only thing that legitimately varies.
    actual = source.read_text(encoding="utf-8").replace(
        f'version="{__version__}"', 'version="VERSION"'
    )
    golden = GOLDEN / name
    if os.environ.get("PUBLISHER_REGEN_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")
    if name == "atom.xml":
        root = lxml.etree.fromstring(source.read_bytes())
        assert root.tag == "{http://www.w3.org/2005/Atom}feed"
        assert not feedparser.parse(source.read_bytes()).bozo


def test_the_feeds_page_lists_the_archive_from_its_first_issue_on(tmp_path: Path) -> None:
    config = load_config(make_site(tmp_path, subscribers=1))
    first = run(config, datetime.fromisoformat(RUN_AT), RunOptions(environ=SECRET))
    page = (tmp_path / "public" / "feeds" / "index.html").read_text(encoding="utf-8")
    assert '<a class="item-title" href="../archive/news/index.html">속보</a>' in page
    assert first.feeds_written == 9  # the page made twice in the run counts once
    later = datetime.fromisoformat(RUN_AT) + timedelta(minutes=1)
    assert run(config, later, RunOptions(environ=SECRET)).feeds_written == 0
