"""The `Post` value every later stage reads: settled once by the indexer, never changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

DateSource = Literal["front matter", "file name", "first seen"]
BodyFormat = Literal["html", "markdown"]


@dataclass(frozen=True)
class Author:
    """Who wrote a post; `email` and `uri` may be empty."""

    name: str
    email: str = ""
    uri: str = ""


@dataclass(frozen=True)
class Image:
    """A post's image: absolute, percent-encoded URL, MIME type and, when known, byte length."""

    url: str
    mime_type: str
    length: int | None = None
    alt: str = ""


@dataclass(frozen=True)
class Post:
    """One published post, with every field settled.

    `source` is the file's path relative to the content folder (POSIX form); it keys the
    post in the store. `title` is plain text (tags stripped, newlines collapsed) and
    `title_html` keeps inline markup as written. `excerpt` and `feature_text` are plain
    text; `feature_html` is `feature_text` rendered from Markdown. `content_html` is the
    body as HTML with every relative URL made absolute against `url`.
    """

    source: str
    id: str
    url: str
    title: str
    title_html: str
    date: datetime
    date_source: DateSource
    updated: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    excerpt: str
    feature_text: str
    feature_html: str
    image: Image | None
    author: Author
    body: str = field(repr=False)
    body_format: BodyFormat
    excerpt_only: bool = False

    def __post_init__(self) -> None:
        if self.date.tzinfo is None or self.updated.tzinfo is None:
            raise ValueError(f"{self.source}: post dates must be timezone-aware")

    @cached_property
    def content_html(self) -> str:
        """The body as HTML, relative href/src/srcset made absolute against the post's URL."""
        from publisher.content.html import render_body

        return render_body(self.body, self.body_format, self.url)
