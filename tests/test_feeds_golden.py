"""Golden files for each format. Regenerate with PUBLISHER_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_config, make_post
from feeds_corpus import T0

from publisher import __version__
from publisher.content.post import Author, Image
from publisher.feeds import build_feeds

GOLDEN = Path(__file__).parent / "golden" / "feeds"
FILES = ["atom.xml", "rss.xml", "feed.json", "categories/정치/atom.xml"]


def golden_posts() -> list:  # type: ignore[type-arg]
    return [
        make_post(
            n=3,
            title="속보: 한미 정상회담 & 공동성명",
            title_html="속보: 한미 정상회담 &amp; 공동성명",
            date=T0 + timedelta(hours=2),
            updated=T0 + timedelta(hours=3),
            categories=("정치", "News"),
            tags=("외교",),
            author=Author("김기자", "kim@newsdao.kr", "https://newsdao.kr/authors/kim/"),
            image=Image(
                "https://newsdao.kr/img/summit.jpg?w=800&h=600", "image/jpeg", 52311, "회담"
            ),
            body='<p>정상회담이 <a href="../seoul/">서울</a>에서 열렸습니다.</p>\n'
            "<script>track()</script><!-- note -- here -->\n",
        ),
        make_post(
            n=2,
            date=T0 + timedelta(hours=1),
            updated=T0 + timedelta(hours=1),
            excerpt_only=True,
            categories=("정치",),
        ),
        make_post(n=1, image=Image("https://cdn.example.com/p.webp", "image/webp")),
    ]


@pytest.mark.parametrize("name", FILES)
def test_golden(tmp_path: Path, name: str) -> None:
    config = make_config(
        tmp_path,
        site={"description": "실시간 뉴스 속보", "icon": "/favicon.png"},
        feeds={"output_dir": str(tmp_path / "out"), "websub_hub": "https://hub.example.com/"},
    )
    build_feeds(config, golden_posts())
    # The generator's version is the only thing that legitimately varies.
    actual = (tmp_path / "out" / name).read_text(encoding="utf-8")
    actual = actual.replace(f'version="{__version__}"', 'version="VERSION"')
    golden = GOLDEN / name
    if os.environ.get("PUBLISHER_REGEN_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8")
