"""The feeds and the feeds page as a person sees them in Chromium: styled without XSLT (so no
"this site uses XSLT" banner), the posts visible, the same from disk as from a server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from browser import bands, dump_dom, has_color, rows_with, screenshot, serving
from factories import make_config
from feeds_corpus import golden_posts
from PIL import ImageChops

from publisher.feeds import build_feeds

NOTE = (0xFF, 0xF8, 0xD6)  # the "how to subscribe" box, in feed.css and on the page
TITLE = (0x06, 0x45, 0xAD)  # a post's title in a feed; links and buttons on the page
BANNER = (0xD9, 0x53, 0x4F)  # Chromium's XSLT deprecation banner
# Where to keep the screenshots for a person to look at (kept in tmp_path otherwise).
KEEP = os.environ.get("PUBLISHER_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    config = make_config(
        root,
        site={"description": "실시간 뉴스 속보"},
        feeds={"output_dir": str(root / "public")},
    )
    build_feeds(config, golden_posts())
    return root / "public"


def look(url: str, png: Path) -> tuple[object, str]:
    shot = screenshot(url, png)
    if KEEP:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(KEEP) / png.name)
    return shot, dump_dom(url, png.parent / "dom-profile")


@pytest.mark.parametrize(
    ("name", "entries"),
    [("atom.xml", 3), ("rss.xml", 3), ("categories/정치/atom.xml", 2)],
    ids=["atom", "rss", "category-two-folders-down"],
)
def test_a_feed_opened_from_disk_reads_as_a_page(
    out: Path, tmp_path: Path, name: str, entries: int
) -> None:
    shot, dom = look((out / name).as_uri(), tmp_path / f"feed-{name.replace('/', '-')}.png")
    assert "xslt" not in dom.lower()
    assert dom.count("<entry>" if name.endswith("atom.xml") else "<item>") == entries
    # The CSS was found (relative to the feed, from disk) and applied: the box on how to
    # subscribe is drawn at the top, and each post's title in its own band of blue.
    note = rows_with(shot, NOTE, at_least=200)  # type: ignore[arg-type]
    assert note and note[0] < 100, "the stylesheet was not applied"
    assert bands(rows_with(shot, TITLE)) == entries  # type: ignore[arg-type]
    assert not has_color(shot, BANNER)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["rss.xml", "categories/정치/atom.xml", "feeds/index.html"])
def test_served_as_from_disk(out: Path, tmp_path: Path, name: str) -> None:
    from_disk = screenshot((out / name).as_uri(), tmp_path / "disk.png")
    with serving(out) as base:
        served = screenshot(base + quote(name), tmp_path / "served.png")
    assert ImageChops.difference(from_disk, served).getbbox() is None


def test_the_feeds_page_in_chromium(out: Path, tmp_path: Path) -> None:
    shot, dom = look((out / "feeds" / "index.html").as_uri(), tmp_path / "feeds-page.png")
    assert "xslt" not in dom.lower()
    for url in ("https://newsdao.kr/atom.xml", "https://newsdao.kr/categories/news/rss.xml"):
        assert f'value="{url}"' in dom
    for title in ("속보: 한미 정상회담 &amp; 공동성명", "북·러 침략 시 상호 지원 협정 체결 1"):
        assert title in dom
    assert 'href="https://www.inoreader.com/?add_feed=https%3A%2F%2Fnewsdao.kr%2Fatom.xml"' in dom
    note = rows_with(shot, NOTE, at_least=200)  # type: ignore[arg-type]
    assert note and note[0] < 300
    # Three feeds, each with its row of buttons for the readers.
    assert bands(rows_with(shot, TITLE, at_least=150), gap=4) >= 3  # type: ignore[arg-type]
    assert not has_color(shot, BANNER)  # type: ignore[arg-type]
