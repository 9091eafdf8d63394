"""Golden files for each format, the feeds page and the CSS stylesheet. Regenerate with
PUBLISHER_REGEN_GOLDEN=1 and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from factories import make_config
from feeds_corpus import golden_posts

from publisher import __version__
from publisher.feeds import build_feeds

GOLDEN = Path(__file__).parent / "golden" / "feeds"
FILES = [
    "atom.xml",
    "rss.xml",
    "feed.json",
    "categories/정치/atom.xml",
    "feeds/index.html",
    "feed.css",
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
