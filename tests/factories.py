"""Build `Post` and `Config` values directly, for tests of the stages after the indexer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publisher.config import Config, parse_config
from publisher.content.post import Author, Body, Details, Image, Post


def make_post(**overrides: Any) -> Post:
    """A complete Post shaped like the seeds; any field can be overridden."""
    n = overrides.pop("n", 1)
    fields: dict[str, Any] = {
        "source": f"2024-06-19-post-{n}.md",
        "id": f"https://newsdao.kr/news/2024/06/19/post-{n}/",
        "url": f"https://newsdao.kr/news/2024/06/19/post-{n}/",
        "title": f"북·러 침략 시 상호 지원 협정 체결 {n}",
        "title_html": f"북·러 침략 시 상호 지원 협정 체결 {n}",
        "date": datetime(2024, 6, 19, 10, 0, tzinfo=UTC),
        "date_source": "front matter",
        "updated": datetime(2024, 6, 19, 10, 0, tzinfo=UTC),
        "categories": ("News",),
        "tags": (),
        "excerpt": "북한과 러시아가 평양에서 열린 정상회담을 통해 새로운 협정을 체결했습니다.",
        "feature_source": "## adskorea 실시간 뉴스 속보입니다.",
        "image": Image(
            url="https://newsdao.kr/assets/img/newsdao_breakingnews.jpg",
            mime_type="image/jpeg",
        ),
        "author": Author(name="뉴스다오"),
        "body": '<p><img src="/assets/img/newsdao_breakingnews.jpg" alt="속보" /></p>\n'
        "<p>북한과 러시아가 새로운 협정을 체결하여 상호적인 군사적 지원을 약속했습니다.</p>\n",
    }
    if "feature_text" in overrides:  # the front matter key's name
        overrides["feature_source"] = overrides.pop("feature_text")
    fields.update(overrides)
    # Tests write bodies as text: body="..." with body_format="markdown" or "html".
    body = fields.pop("body")
    body_format = fields.pop("body_format", "html")
    fields["body"] = body if isinstance(body, Body) else Body.of(body, body_format)
    details = {f.name: fields.pop(f.name) for f in dataclasses.fields(Details)}
    return Post(**fields, details=Details(**details))


def make_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    """A Config rooted in `tmp_path` (as if read from tmp_path/publisher.toml)."""
    data: dict[str, Any] = {
        "site": {
            "title": "뉴스다오",
            "url": "https://newsdao.kr/",
            "language": "ko",
            "timezone": "Asia/Seoul",
            "author": "뉴스다오",
        },
        # Tests ask no server beyond 127.0.0.1 for an image's length.
        "feeds": {"image_head": False},
    }
    for name, table in sections.items():
        if isinstance(data.get(name), dict) and isinstance(table, dict):
            data[name] = {**data[name], **table}
        else:
            data[name] = table
    return parse_config(data, tmp_path / "publisher.toml")
