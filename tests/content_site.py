"""A throwaway site in a temp folder, built from the case files in tests/data/content."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from publisher.config import Config, load_config
from publisher.content.index import IndexResult, index_site
from publisher.content.post import Post
from publisher.options import RunOptions

DATA = Path(__file__).parent / "data" / "content"
SEEDS = Path(__file__).parent.parent / "content"
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)

BASE_CONFIG = """\
[site]
title = "뉴스다오"
url = "{url}"
language = "ko"
timezone = "Asia/Seoul"
author = "뉴스다오"

[content]
dir = "content"
permalink = "{permalink}"
{content_extra}

[store]
path = "state/publisher.sqlite3"

[feeds]
# Tests ask no server beyond 127.0.0.1 for an image's length.
image_head = false
"""


@dataclass
class Site:
    """A site folder: content/, publisher.toml and the state file under state/."""

    root: Path
    url: str = "https://newsdao.kr/"
    permalink: str = "/:categories/:year/:month/:day/:title/"
    content_extra: str = ""

    @property
    def content(self) -> Path:
        return self.root / "content"

    def add(self, *names: str, into: str = "") -> None:
        """Copy case files from tests/data/content (names may include _drafts/...)."""
        for name in names:
            dest = self.content / into / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(DATA / name, dest)

    def add_seeds(self) -> None:
        """Copy the two seed posts, file names kept."""
        self.content.mkdir(parents=True, exist_ok=True)
        for seed in SEEDS.iterdir():
            shutil.copy(seed, self.content / seed.name)

    def write(self, name: str, text: str) -> Path:
        path = self.content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def config(self) -> Config:
        self.content.mkdir(parents=True, exist_ok=True)
        path = self.root / "publisher.toml"
        path.write_text(
            BASE_CONFIG.format(
                url=self.url, permalink=self.permalink, content_extra=self.content_extra
            ),
            encoding="utf-8",
        )
        return load_config(path)

    def index(self, now: datetime = NOW, **options: bool) -> IndexResult:
        """The site indexed at `now` with these RunOptions (drafts=True, dry_run=True)."""
        return index_site(self.config(), now, RunOptions(**options))

    def post(self, source: str, now: datetime = NOW) -> Post:
        """The one post indexed from `source`, failing with the problems when there is none."""
        result = self.index(now)
        found = [p for p in result.posts + result.future if p.source == source]
        assert found, [str(p) for p in result.problems]
        return found[0]
