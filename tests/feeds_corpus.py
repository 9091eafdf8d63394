"""A hostile corpus for feed tests: every edge case of tests/data/feeds/ as a post, plus images
of every form, Korean and markup-like text, control characters, '&' and non-ASCII URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from factories import make_config, make_post

from publisher.config import Config
from publisher.content.post import Author, Image, Post

DATA = Path(__file__).parent / "data" / "feeds"
SITE = "https://newsdao.kr/"
T0 = datetime(2024, 6, 19, 10, 0, tzinfo=UTC)
# Bytes of the one image that exists under static_dir.
LOCAL_IMAGE = b"\xff\xd8\xff\xe0" + b"0" * 2044


def hostile_config(tmp_path: Path, **feeds: object) -> Config:
    """A config with a static folder holding one image, feeds written under tmp_path/public."""
    static = tmp_path / "static"
    (static / "assets" / "img").mkdir(parents=True, exist_ok=True)
    (static / "assets" / "img" / "local photo.jpg").write_bytes(LOCAL_IMAGE)
    return make_config(
        tmp_path,
        site={
            "description": "실시간 뉴스 속보 & 분석 <특보> <b>굵게</b>",
            "icon": "/assets/img/favicon.png",
            "logo": "/assets/img/newsdao_breakingnews.jpg",
            "author_email": "desk@newsdao.kr",
        },
        content={"static_dir": str(static)},
        feeds={"output_dir": str(tmp_path / "public"), **feeds},
    )


def hostile_posts() -> list[Post]:
    """Posts newest first, one per edge case; ids are unique, dates one hour apart."""
    cases: list[dict[str, object]] = []
    for path in sorted(DATA.glob("*.html")):
        cases.append(
            {
                "slug": path.stem,
                "body": path.read_bytes().decode("utf-8"),
                "title": f"사례: {path.stem}",
            }
        )
    images = [
        Image(SITE + "assets/img/local%20photo.jpg", "image/jpeg", None, "로컬"),
        Image(SITE + "assets/img/missing.png", "image/png", None, "없음"),
        Image("https://cdn.example.com/p.gif?w=1&h=2", "image/gif", 4321, "외부 & 크기"),
        Image("https://cdn.example.com/unknown.webp", "image/webp", None, ""),
        Image(SITE + "사진/평양%20회담.jpg", "image/jpeg", 999, "한글 경로"),
        Image(SITE + "assets/img/newsdao_breakingnews.jpg", "image/jpeg", None, "속보"),
    ]
    extra: list[dict[str, object]] = [
        {
            "slug": "markup-title",
            "title": "제목에 </div> 와 &amp; 그리고 <b>굵게</b> AT&T",
            "excerpt": "요약에 </div> 와 &amp; 그리고 <b>굵게</b> AT&T",
            "categories": ("C++", "C#", "<특보>"),
            "tags": ("AT&T", "a < b"),
        },
        {
            "slug": "control-title",
            "title": "제어\x07문자\x1b 제목\u0085",
            "excerpt": "요약\x00에도 제어 문자\x0c",
            "author": Author("기자\x01 김", "kim@newsdao.kr", "https://newsdao.kr/기자/김/"),
        },
        {"slug": "excerpt-only", "excerpt_only": True, "categories": ("정치", "News")},
        {
            "slug": "markdown-body",
            "body": "## 소제목\n\n[상대 링크](../x/) 와 ![그림](img/a.png)\n\n"
            "<script>x()</script>\n",
            "body_format": "markdown",
            "categories": ("news",),
        },
        {"slug": "empty-body", "body": "", "image": None, "author": Author("")},
    ]
    posts = []
    for n, case in enumerate(cases + extra):
        slug = str(case.pop("slug"))
        url = f"{SITE}news/2024/06/19/{slug}/"
        fields: dict[str, object] = {
            "source": f"2024-06-19-{slug}.html",
            "id": url,
            "url": url,
            "date": T0 - timedelta(hours=n),
            "updated": T0 - timedelta(hours=n) + timedelta(minutes=5),
            "categories": ("News", "정치") if n % 2 else ("속보",),
            "image": images[n % len(images)],
        }
        fields.update(case)
        if "title" in case:
            fields["title_html"] = fields["title"]
        posts.append(make_post(**fields))
    return posts


def golden_posts() -> list[Post]:
    """Three posts of every kind the golden files show: Korean and '&' in a title, an image of
    known and of unknown length, an excerpt-only post, two categories."""
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
