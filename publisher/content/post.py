"""The `Post` value every later stage reads: settled once by the indexer, never changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

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
class Body:
    """A post body: read from its file on first use, or given as text.

    A warm index of 10,000 posts must not load 60 MB of bodies that only the newest
    posts in each feed need, so an indexed post points at its file and reads the body
    from there when asked.
    """

    format: BodyFormat
    path: str = ""
    inline: str = field(default="", repr=False)

    @classmethod
    def of(cls, text: str, body_format: BodyFormat) -> Body:
        """A Body holding its text."""
        return cls(body_format, inline=text)

    @cached_property
    def text(self) -> str:
        """The body as written (from the post file, front matter removed)."""
        if not self.path:
            return self.inline
        from publisher.content.source import read_body

        return read_body(self.path)


_DEFERRED = "_deferred"


@dataclass(frozen=True)
class Post:
    """One published post, with every field settled.

    `source` is the file's path relative to the content folder (POSIX form); it keys the
    post in the store. `title` is plain text (tags stripped, newlines collapsed) and
    `title_html` keeps inline markup as written. Dates are aware (stored in UTC; show
    them in the site's time zone). `excerpt` is plain text; `feature_source` is the
    front matter `feature_text` as written (Markdown), rendered on use by `feature_html`
    and `feature_text`. `body_html` is the body as HTML with its URLs as written (feeds
    make them absolute when they clean it).
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
    feature_source: str
    image: Image | None
    author: Author
    body: Body
    excerpt_only: bool = False

    def __post_init__(self) -> None:
        if self.date.tzinfo is None or self.updated.tzinfo is None:
            raise ValueError(f"{self.source}: post dates must be timezone-aware")

    @classmethod
    def deferred(
        cls, posts: Iterable[tuple[dict[str, Any], bytes]], load: Callable[[bytes], dict[str, Any]]
    ) -> list[Post]:
        """Posts holding their `fields` now and the rest `packed`, decoded by `load` on first use.

        A warm index makes 10,000 posts from the parse cache, and feeds and emails read the
        titles, excerpts and images of a few hundred: the others never decode theirs. Each
        `fields` must hold `excerpt_only` (it has a class default) and aware dates;
        `load(packed)` returns every other field. A post is the same value either way:
        equal, hashable, printable and `dataclasses.replace`-able like one built whole.
        """
        made: list[Post] = []
        new, set_dict = object.__new__, object.__setattr__
        for fields, packed in posts:
            post = new(cls)
            fields[_DEFERRED] = (load, packed)
            set_dict(post, "__dict__", fields)
            made.append(post)
        return made

    def __getstate__(self) -> dict[str, Any]:
        # A pickled post is whole: the decoder of the parse cache does not travel.
        if _DEFERRED in self.__dict__:
            self.title  # noqa: B018 (decodes the rest)
        return {k: v for k, v in self.__dict__.items() if k != _DEFERRED}

    if not TYPE_CHECKING:  # hidden from mypy, which would let any attribute name through

        def __getattr__(self, name: str) -> Any:
            # Reached only for a field missing from the instance: a deferred post's rest.
            fields = self.__dict__
            deferred = fields.get(_DEFERRED)
            if deferred is None or name.startswith("__"):
                raise AttributeError(name)
            load, packed = deferred
            fields.update(load(packed))  # left in place: another thread may be here too
            try:
                return fields[name]
            except KeyError:
                raise AttributeError(name) from None

    @property
    def body_format(self) -> BodyFormat:
        """'html' or 'markdown'."""
        return self.body.format

    @cached_property
    def body_html(self) -> str:
        """The body as HTML (Markdown rendered), its URLs as written."""
        from publisher.content.html import markdown_to_html

        text = self.body.text
        return markdown_to_html(text) if self.body.format == "markdown" else text

    @cached_property
    def feature_html(self) -> str:
        """`feature_text` from the front matter rendered from Markdown ('' when none)."""
        from publisher.content.html import markdown_to_html

        return markdown_to_html(self.feature_source) if self.feature_source else ""

    @cached_property
    def feature_text(self) -> str:
        """`feature_text` from the front matter as plain text ('' when none)."""
        from publisher.content.html import html_to_text

        return html_to_text(self.feature_html) if self.feature_source else ""
