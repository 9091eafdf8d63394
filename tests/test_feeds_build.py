"""build_feeds end to end: every file read back with feedparser, lxml and json."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from html import unescape
from pathlib import Path

import feedparser
import lxml.etree
import pytest
from factories import make_config, make_post
from feeds_corpus import DATA, T0, hostile_config, hostile_posts

from publisher.content.post import Image
from publisher.feeds import build_feeds
from publisher.options import RunOptions

ATOM = "{http://www.w3.org/2005/Atom}"
FORMATS = ("atom.xml", "rss.xml", "feed.json")


def feed_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.name in FORMATS)


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
    return parsed


def check_json_feed(path: Path) -> dict[str, object]:
    """The JSON Feed 1.1 required fields and their types."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str)
    assert doc["title"]
    assert isinstance(doc["items"], list)
    for key in ("home_page_url", "feed_url", "description", "icon", "favicon", "language"):
        assert isinstance(doc.get(key, ""), str)
    for item in doc["items"]:
        assert isinstance(item["id"], str)
        assert item["id"]
        assert isinstance(item.get("content_html", item.get("content_text")), str)
        for key in ("url", "title", "summary", "image", "date_published", "date_modified"):
            assert isinstance(item.get(key, ""), str)
        assert all(isinstance(t, str) for t in item.get("tags", []))
        assert all(isinstance(a["name"], str) for a in item.get("authors", []))
    return doc


def test_site_feeds_read_back_in_every_format(tmp_path: Path) -> None:
    posts = [
        make_post(n=n, date=T0 - timedelta(days=n), updated=T0 - timedelta(days=n))
        for n in range(3)
    ]
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "public")})
    report = build_feeds(config, posts)
    out = tmp_path / "public"

    assert not report.problems
    atom, rss = parse(out / "atom.xml"), parse(out / "rss.xml")
    doc = check_json_feed(out / "feed.json")
    for parsed in (atom, rss):
        assert [e.id for e in parsed.entries] == [p.id for p in posts]
        assert [e.link for e in parsed.entries] == [p.url for p in posts]
        assert [e.title for e in parsed.entries] == [p.title for p in posts]
        assert parsed.entries[0].published_parsed[:6] == (2024, 6, 19, 10, 0, 0)
        assert parsed.feed.language == "ko"
    assert [i["id"] for i in doc["items"]] == [p.id for p in posts]  # type: ignore[index]
    # The Atom feed's updated is the newest item's, in the site's zone, never the clock.
    assert atom.feed.updated == "2024-06-19T19:00:00+09:00"
    root = lxml.etree.parse(str(out / "rss.xml")).getroot()
    assert root.findtext("channel/lastBuildDate") == "Wed, 19 Jun 2024 19:00:00 +0900"
    assert root.findtext("channel/item/pubDate") == "Wed, 19 Jun 2024 19:00:00 +0900"
    assert report.changed_urls == (
        "https://newsdao.kr/atom.xml",
        "https://newsdao.kr/rss.xml",
        "https://newsdao.kr/feed.json",
        "https://newsdao.kr/categories/news/atom.xml",
        "https://newsdao.kr/categories/news/rss.xml",
        "https://newsdao.kr/categories/news/feed.json",
    )


def test_feed_level_links_and_stylesheet(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        feeds={"output_dir": str(tmp_path / "public"), "websub_hub": "https://hub.example.com/"},
    )
    build_feeds(config, [make_post()])
    out = tmp_path / "public"
    atom_bytes = (out / "atom.xml").read_bytes()
    assert atom_bytes.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<?xml-stylesheet type="text/css" href="feed.css"?>\n'
    )
    # Relative, so it is found from disk too: a category's feed is two folders down.
    assert (
        (out / "categories" / "news" / "rss.xml")
        .read_bytes()
        .startswith(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<?xml-stylesheet type="text/css" href="../../feed.css"?>\n'
        )
    )
    assert (out / "feed.css").read_text(encoding="utf-8").startswith("/* Shows an Atom or RSS")
    assert not (out / "feed.xsl").exists()
    links = {
        link.get("rel"): link.get("href")
        for link in lxml.etree.fromstring(atom_bytes).iterfind(f"{ATOM}link")
    }
    assert links == {
        "self": "https://newsdao.kr/atom.xml",
        "alternate": "https://newsdao.kr/",
        "hub": "https://hub.example.com/",
    }
    channel = lxml.etree.parse(str(out / "rss.xml")).getroot().find("channel")
    assert channel is not None
    assert channel.findtext("link") == "https://newsdao.kr/"
    rss_links = {a.get("rel"): a.get("href") for a in channel.iterfind(f"{ATOM}link")}
    assert rss_links == {"self": "https://newsdao.kr/rss.xml", "hub": "https://hub.example.com/"}
    doc = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    assert doc["feed_url"] == "https://newsdao.kr/feed.json"
    assert doc["hubs"] == [{"type": "WebSub", "url": "https://hub.example.com/"}]
    assert (out / "feeds.html").read_text(encoding="utf-8") == (
        '<link rel="alternate" type="application/atom+xml" title="뉴스다오 (Atom)" '
        'href="https://newsdao.kr/atom.xml">\n'
        '<link rel="alternate" type="application/rss+xml" title="뉴스다오 (RSS)" '
        'href="https://newsdao.kr/rss.xml">\n'
        '<link rel="alternate" type="application/feed+json" title="뉴스다오 (JSON Feed)" '
        'href="https://newsdao.kr/feed.json">\n'
    )


def test_hostile_corpus_reads_back_clean(tmp_path: Path) -> None:
    posts = hostile_posts()
    report = build_feeds(hostile_config(tmp_path), posts)
    out = tmp_path / "public"
    files = feed_files(out)
    assert len(files) == len(report.changed_urls) == 3 * report.feeds
    for path in files:
        data = path.read_bytes()
        for bad in (b"<script", b"<style", b"<!--", b"javascript:", b"onclick", b"\x01", b"\x08"):
            assert bad not in data, f"{path} holds {bad!r}"
        if path.suffix == ".json":
            check_json_feed(path)
            continue
        lxml.etree.fromstring(data)
        parsed = parse(path)
        ids = [e.id for e in parsed.entries]
        assert len(ids) == len(set(ids))
        for entry in parsed.entries:
            html = entry.content[0].value if "content" in entry else ""
            for attr in ('href="', 'src="'):
                for chunk in html.split(attr)[1:]:
                    assert chunk.startswith(("https://", "mailto:")), chunk[:60]
            assert entry.link.startswith("https://newsdao.kr/")
    site = parse(out / "rss.xml")
    assert len(site.entries) == len(posts)
    titles = [e.title for e in site.entries]
    assert "제어문자 제목" in titles
    assert "제목에 <\u200b/div> 와 &amp; 그리고 <b>굵게<\u200b/b> AT&T" in titles
    # Atom's plain-text summary and subtitle that look like markup go as escaped HTML.
    atom = parse(out / "atom.xml")
    assert unescape(atom.feed.subtitle) == "실시간 뉴스 속보 & 분석 <특보> <b>굵게</b>"
    summaries = [unescape(e.summary) for e in atom.entries]
    assert "요약에 </div> 와 &amp; 그리고 <b>굵게</b> AT&T" in summaries
    root = lxml.etree.parse(str(out / "atom.xml")).getroot()
    assert root.find(f"{ATOM}subtitle").get("type") == "html"  # type: ignore[union-attr]
    assert {e.get("type") for e in root.iter(f"{ATOM}summary")} == {None, "html"}


def test_korean_and_colliding_categories_get_stable_folders(tmp_path: Path) -> None:
    report = build_feeds(hostile_config(tmp_path), hostile_posts())
    folders = sorted(p.name for p in (tmp_path / "public" / "categories").iterdir())
    assert folders == ["c", "c-e4bc4b", "news", "속보", "정치", "특보"]
    assert "https://newsdao.kr/categories/%EC%A0%95%EC%B9%98/atom.xml" in report.changed_urls
    assert any("'C++' and 'C#' both make the feed folder 'c'" in str(p) for p in report.problems)
    news = parse(tmp_path / "public" / "categories" / "news" / "atom.xml")
    # 'News' and 'news' are one category, named as its oldest post names it.
    assert news.feed.title == "뉴스다오 – News"
    assert len(news.entries) == 7


def test_a_new_category_never_takes_an_existing_ones_folder(tmp_path: Path) -> None:
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out")})
    old = make_post(n=1, categories=("C++",))
    build_feeds(config, [old])
    new = make_post(n=2, date=T0 + timedelta(hours=1), updated=T0 + timedelta(hours=1),
                    categories=("C#",))  # fmt: skip
    report = build_feeds(config, [new, old])
    categories = tmp_path / "out" / "categories"
    assert sorted(p.name for p in categories.iterdir()) == ["c", "c-e4bc4b"]
    assert parse(categories / "c" / "atom.xml").feed.title == "뉴스다오 – C++"
    assert parse(categories / "c-e4bc4b" / "atom.xml").feed.title == "뉴스다오 – C#"
    assert [str(p) for p in report.problems] == [
        "2024-06-19-post-2.md: categories 'C++' and 'C#' both make the feed folder 'c': "
        "'C#' gets 'c-e4bc4b'; rename one to keep URLs readable"
    ]


def test_limit_keeps_the_newest(tmp_path: Path) -> None:
    posts = [make_post(n=n, date=T0 - timedelta(hours=n), updated=T0) for n in range(5)]
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out"), "limit": 2})
    build_feeds(config, posts)
    atom = parse(tmp_path / "out" / "atom.xml")
    assert [e.id for e in atom.entries] == [posts[0].id, posts[1].id]
    # All five share one update time: going from the oldest, each newer post gets a second
    # more, so no two entries share it (the validator warns on that).
    assert [e.updated for e in atom.entries] == [
        "2024-06-19T19:00:04+09:00",
        "2024-06-19T19:00:03+09:00",
    ]


def test_same_post_twice_appears_once(tmp_path: Path) -> None:
    post = make_post()
    twin = make_post(source="copy.md")
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out")})
    report = build_feeds(config, [post, twin])
    assert len(parse(tmp_path / "out" / "atom.xml").entries) == 1
    assert [str(p) for p in report.problems] == [
        f"copy.md: id {post.id!r} is also another post's: left out of the feeds"
    ]


@pytest.mark.parametrize(
    ("site_wide", "per_post"),
    [(True, False), (False, True)],
    ids=["site-wide", "per-post"],
)
def test_excerpt_only(tmp_path: Path, site_wide: bool, per_post: bool) -> None:
    config = make_config(
        tmp_path, feeds={"output_dir": str(tmp_path / "out"), "excerpt_only": site_wide}
    )
    posts = [make_post(n=1, excerpt_only=per_post), make_post(n=2, date=T0 - timedelta(days=1))]
    build_feeds(config, posts)
    out = tmp_path / "out"
    atom, rss = parse(out / "atom.xml"), parse(out / "rss.xml")
    doc = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    full = not site_wide
    for parsed in (atom, rss):
        assert "content" not in parsed.entries[0]
        assert ("content" in parsed.entries[1]) is full
        assert parsed.entries[0].summary == posts[0].excerpt
    assert "content_html" not in doc["items"][0]
    assert doc["items"][0]["content_text"] == posts[0].excerpt
    assert ("content_html" in doc["items"][1]) is full
    rss_xml = (out / "rss.xml").read_text(encoding="utf-8")
    assert rss_xml.count("<content:encoded>") == (1 if full else 0)


def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    config = hostile_config(tmp_path)
    first = build_feeds(config, hostile_posts())
    out = tmp_path / "public"
    files = sorted(p for p in out.rglob("*") if p.is_file())
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    # Age every file, so a rewrite would show in its modification time.
    for p in files:
        os.utime(p, ns=(1_000_000_000, 1_000_000_000))
    second = build_feeds(config, hostile_posts())
    assert first.written
    assert second.written == ()
    assert second.changed_urls == ()
    assert sorted(second.unchanged) == files
    for p in files:
        assert p.stat().st_mtime_ns == 1_000_000_000
        assert p.read_bytes() == before[p][1]


def test_a_new_post_changes_only_its_feeds(tmp_path: Path) -> None:
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out")})
    old = make_post(n=1, categories=("News",))
    build_feeds(config, [old])
    new = make_post(n=2, date=T0 + timedelta(hours=1), updated=T0 + timedelta(hours=1),
                    categories=("정치",))  # fmt: skip
    report = build_feeds(config, [new, old])
    assert report.changed_urls == (
        "https://newsdao.kr/atom.xml",
        "https://newsdao.kr/rss.xml",
        "https://newsdao.kr/feed.json",
        "https://newsdao.kr/categories/%EC%A0%95%EC%B9%98/atom.xml",
        "https://newsdao.kr/categories/%EC%A0%95%EC%B9%98/rss.xml",
        "https://newsdao.kr/categories/%EC%A0%95%EC%B9%98/feed.json",
    )


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out")})
    report = build_feeds(config, [make_post()], options=RunOptions(dry_run=True))
    assert not (tmp_path / "out").exists()
    assert len(report.written) == 9  # 2 feeds x 3 formats, stylesheet, snippet, feeds page


def test_formats_names_and_no_categories_are_configurable(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        feeds={
            "output_dir": str(tmp_path / "out"),
            "formats": ["rss"],
            "rss_name": "index.rss",
            "categories": False,
            "stylesheet": "none",
            "discovery_name": "",
            "page_name": "",
        },
    )
    report = build_feeds(config, [make_post()])
    assert [p.relative_to(tmp_path / "out").as_posix() for p in report.written] == ["index.rss"]
    assert b"xml-stylesheet" not in (tmp_path / "out" / "index.rss").read_bytes()
    parse(tmp_path / "out" / "index.rss")


def test_write_failure_names_the_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the folder should be")
    config = make_config(tmp_path, feeds={"output_dir": str(blocker)})
    with pytest.raises(Exception, match=r"cannot write the feeds") as info:
        build_feeds(config, [make_post()])
    assert str(blocker) in str(info.value)
    assert "check [feeds] output_dir" in str(info.value)


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml"])
def test_the_xsl_stylesheet_on_request_turns_a_feed_into_a_page(tmp_path: Path, name: str) -> None:
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out"), "stylesheet": "xsl"})
    post = make_post()
    build_feeds(config, [post])
    assert (
        (tmp_path / "out" / name)
        .read_bytes()
        .startswith(
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<?xml-stylesheet type="text/xsl" href="feed.xsl"?>\n'
        )
    )
    assert not (tmp_path / "out" / "feed.css").exists()
    transform = lxml.etree.XSLT(lxml.etree.parse(str(tmp_path / "out" / "feed.xsl")))
    page = str(transform(lxml.etree.parse(str(tmp_path / "out" / name))))
    assert "<h1>뉴스다오</h1>" in page
    assert "To subscribe, copy this page's address" in page
    assert f"<code>https://newsdao.kr/{name}</code>" in page
    assert f'<a href="{post.url}">{post.title}</a>' in page


def test_site_under_a_base_path(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        site={"url": "https://example.com/blog", "icon": "/blog/favicon.png"},
        feeds={"output_dir": str(tmp_path / "out")},
    )
    report = build_feeds(config, [make_post(url="https://example.com/blog/a/")])
    assert report.changed_urls[0] == "https://example.com/blog/atom.xml"
    atom = parse(tmp_path / "out" / "atom.xml")
    assert atom.feed.icon == "https://example.com/blog/favicon.png"
    assert atom.feed.link == "https://example.com/blog/"


def test_no_posts_still_gives_valid_empty_feeds(tmp_path: Path) -> None:
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out")})
    report = build_feeds(config, [])
    assert report.feeds == 1
    atom = parse(tmp_path / "out" / "atom.xml")
    assert atom.entries == []
    # No post, no time: a fixed date rather than the clock, so reruns change nothing.
    assert atom.feed.updated == "2000-01-01T00:00:00+00:00"
    parse(tmp_path / "out" / "rss.xml")
    check_json_feed(tmp_path / "out" / "feed.json")


def test_a_body_with_references_to_control_characters_still_builds(tmp_path: Path) -> None:
    config = make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out")})
    build_feeds(config, [make_post(body="<p>벨&#7; 소리&#x1b;</p>")])
    for name in ("atom.xml", "rss.xml"):
        assert parse(tmp_path / "out" / name).entries[0].content[0].value.endswith("<p>벨 소리</p>")
    item = json.loads((tmp_path / "out" / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert item["content_html"].endswith("<p>벨 소리</p>")


def test_broken_urls_still_build(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    config = make_config(
        tmp_path, content={"static_dir": str(static)}, feeds={"output_dir": str(tmp_path / "out")}
    )
    body = (DATA / "broken-urls.html").read_text(encoding="utf-8")
    # A site image whose path starts '//[': read as a broken IPv6 host, it used to raise.
    image = Image("https://newsdao.kr///[::1/사진.jpg", "image/jpeg")
    report = build_feeds(config, [make_post(body=body, image=image)])
    assert [str(p) for p in report.problems] == [
        "2024-06-19-post-1.md: image 'https://newsdao.kr///[::1/%EC%82%AC%EC%A7%84.jpg' is not "
        f"a file under [content] static_dir ({static}/[::1/사진.jpg): its size is unknown, so "
        'its enclosure says length="0"; add the file or fix the image path'
    ]
    for name in ("atom.xml", "rss.xml"):
        content = parse(tmp_path / "out" / name).entries[0].content[0].value
        assert 'href="https://%ED%95%9C%EA%B5%AD..kr/"' in content
        assert 'src="https://[::1/%EC%82%AC%EC%A7%84.jpg"' in content
    check_json_feed(tmp_path / "out" / "feed.json")
