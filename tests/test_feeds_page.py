"""The feeds page and the stylesheet: every feed with its address and readers' buttons, the
latest posts, the archives and the email subscription when they exist; relative links."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lxml.html
import pytest
from factories import make_config, make_post
from feeds_corpus import golden_posts

from publisher.config import Config
from publisher.feeds import build_feeds
from publisher.feeds.model import select_posts
from publisher.feeds.page import feeds_page, page_inputs, page_items, subscribe_url

ENCODED = "%EC%A0%95%EC%B9%98"  # 정치


def page(out: Path, name: str = "feeds/index.html") -> Any:
    return lxml.html.fromstring((out / name).read_bytes())


def site(tmp_path: Path, **sections: dict[str, object]) -> Config:
    feeds = {"output_dir": str(tmp_path / "out"), **sections.pop("feeds", {})}
    return make_config(tmp_path, feeds=feeds, **sections)


def test_every_feed_with_its_address_links_and_readers(tmp_path: Path) -> None:
    build_feeds(site(tmp_path), golden_posts())
    html = page(tmp_path / "out")
    assert html.get("lang") == "ko"
    assert [h.text_content() for h in html.iterfind(".//h3")] == [
        "뉴스다오",
        "뉴스다오 – News",
        "뉴스다오 – 정치",
    ]
    addresses = [i.get("value") for i in html.iterfind(".//input")]
    assert addresses == [
        f"https://newsdao.kr/{folder}{name}"
        for folder in ("", "categories/news/", f"categories/{ENCODED}/")
        for name in ("atom.xml", "rss.xml", "feed.json")
    ]
    # Relative links: the page works from disk and wherever the folder is served.
    formats = [a.get("href") for a in html.find_class("format")]
    assert formats[:3] == ["../atom.xml", "../rss.xml", "../feed.json"]
    assert formats[6] == f"../categories/{ENCODED}/atom.xml"
    for link in formats:
        assert (tmp_path / "out" / "feeds" / link.replace(ENCODED, "정치")).resolve().is_file()
    readers = [a.get("href") for a in html.find_class("readers")[0].iterfind("a")]
    assert readers == [
        "https://feedly.com/i/subscription/feed%2Fhttps%3A%2F%2Fnewsdao.kr%2Fatom.xml",
        "https://www.inoreader.com/?add_feed=https%3A%2F%2Fnewsdao.kr%2Fatom.xml",
        "https://www.newsblur.com/?url=https%3A%2F%2Fnewsdao.kr%2Fatom.xml",
        "https://theoldreader.com/feeds/subscribe?url=https%3A%2F%2Fnewsdao.kr%2Fatom.xml",
    ]
    alternates = [(a.get("type"), a.get("href")) for a in html.iterfind(".//link")]
    assert alternates == [
        ("application/atom+xml", "../atom.xml"),
        ("application/rss+xml", "../rss.xml"),
        ("application/feed+json", "../feed.json"),
    ]
    assert not html.find_class("email")  # no [web]: no email subscription


def test_the_latest_posts_newest_first(tmp_path: Path) -> None:
    posts = golden_posts()
    build_feeds(site(tmp_path), posts)
    items = page(tmp_path / "out").find_class("items")[0]
    titles = [a.text_content() for a in items.find_class("item-title")]
    assert titles == [p.title for p in posts]
    assert items.find(".//time").get("datetime") == "2024-06-19T21:00:00+09:00"
    assert items.find(".//time").text == "2024-06-19 21:00"
    assert "<script" not in (tmp_path / "out" / "feeds" / "index.html").read_text()


def test_markup_in_titles_is_text(tmp_path: Path) -> None:
    post = make_post(title="<script>alert(1)</script> & <b>굵게</b>", excerpt="<i>x</i> &amp;")
    build_feeds(site(tmp_path, site={"description": "<특보>"}), [post])
    text = (tmp_path / "out" / "feeds" / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;굵게&lt;/b&gt;" in text
    assert "<p>&lt;i&gt;x&lt;/i&gt; &amp;amp;</p>" in text
    assert '<p class="lead">&lt;특보&gt;</p>' in text


def test_english_words_for_an_english_site(tmp_path: Path) -> None:
    build_feeds(site(tmp_path, site={"language": "en-US"}), [make_post()])
    html = page(tmp_path / "out")
    assert html.find(".//h2").text == "Feeds"
    assert html.find(".//title").text == "뉴스다오: feeds"
    css = (tmp_path / "out" / "feed.css").read_text(encoding="utf-8")
    assert 'content: "This is a news feed. Paste its address' in css
    assert r"\A Every feed, with subscribe buttons: https://newsdao.kr/feeds/" in css


@pytest.mark.parametrize(
    ("name", "href", "note"),
    [
        ("index.html", "atom.xml", "https://newsdao.kr/"),
        ("구독/feeds.html", "../atom.xml", "https://newsdao.kr/%EA%B5%AC%EB%8F%85/feeds.html"),
        ("", "", ""),
    ],
    ids=["at-the-root", "named-in-a-folder", "none"],
)
def test_the_page_is_where_page_name_says(tmp_path: Path, name: str, href: str, note: str) -> None:
    report = build_feeds(site(tmp_path, feeds={"page_name": name}), [make_post()])
    out = tmp_path / "out"
    css = (out / "feed.css").read_text(encoding="utf-8")
    if not name:
        assert sorted(p.name for p in report.written if p.suffix == ".html") == ["feeds.html"]
        assert "모든 피드와 구독 버튼" not in css
        return
    assert page(out, name).find_class("format")[0].get("href") == href
    assert f"모든 피드와 구독 버튼: {note}" in css


def test_an_archive_shows_once_its_index_exists(tmp_path: Path) -> None:
    newsletter = {"id": "breaking", "name": "속보 <알림>", "sender": "a <news@newsdao.kr>"}
    config = site(tmp_path, newsletters=[newsletter])  # type: ignore[arg-type]
    build_feeds(config, [make_post()])
    headings = [h.text for h in page(tmp_path / "out").iterfind(".//h2")]
    assert headings == ["피드", "최근 글"]  # no archive yet: no link to a missing page
    index = tmp_path / "out" / "archive" / "breaking" / "index.html"
    index.parent.mkdir(parents=True)
    index.write_text("<!DOCTYPE html>")
    report = build_feeds(config, [make_post()])
    assert [p.name for p in report.written] == ["index.html"]
    html = page(tmp_path / "out")
    assert [h.text for h in html.iterfind(".//h2")] == ["피드", "뉴스레터 지난 호", "최근 글"]
    archives = html.find_class("items")[0]
    links = [(a.text_content(), a.get("href")) for a in archives.iterfind("li/a")]
    assert links == [
        ("속보 <알림>", "../archive/breaking/index.html"),
        ("지난 호 피드", "../archive/breaking/atom.xml"),
    ]


def test_the_email_subscription_when_the_web_app_is_set_up(tmp_path: Path) -> None:
    config = site(tmp_path)
    # [web] belongs to the web app: its base URL is all the page reads of it.
    web = SimpleNamespace(web=SimpleNamespace(base_url="https://newsdao.kr/app/"))
    assert subscribe_url(web) == "https://newsdao.kr/app/subscribe"  # type: ignore[arg-type]
    assert subscribe_url(config) == ""
    selection = select_posts(config, [make_post()])
    inputs = page_inputs(config, selection.feeds, tmp_path / "out")
    with_email = type(inputs)(inputs.feeds, inputs.archives, "https://newsdao.kr/app/subscribe")
    html = lxml.html.fromstring(feeds_page(config, with_email, page_items(config, [make_post()])))
    (button,) = html.find_class("email")
    assert (button.text, button.get("href")) == (
        "이메일로 받아 보기",
        "https://newsdao.kr/app/subscribe",
    )


def test_the_stylesheet_is_the_one_asked_for(tmp_path: Path) -> None:
    build_feeds(site(tmp_path, feeds={"stylesheet": "none"}), [make_post()])
    out = tmp_path / "out"
    assert not (out / "feed.css").exists() and not (out / "feed.xsl").exists()
    assert b"xml-stylesheet" not in (out / "atom.xml").read_bytes()
    build_feeds(site(tmp_path, feeds={"stylesheet": "css", "css_name": "보기.css"}), [make_post()])
    assert (out / "categories" / "news" / "atom.xml").read_bytes().splitlines()[1] == (
        b'<?xml-stylesheet type="text/css" href="../../%EB%B3%B4%EA%B8%B0.css"?>'
    )
    assert (out / "보기.css").is_file()
