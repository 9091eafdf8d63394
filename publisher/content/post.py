"""The `Post` value every later stage reads: settled once by the indexer, never changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from publisher.content.jekyll import Liquid

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
    # For a post with Liquid in its body: renders it on reading (the file holds it as written).
    liquid: Liquid | None = field(default=None, repr=False, compare=False)

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

        text = read_body(self.path)
        if self.liquid is None:
            return text
        return self.liquid.render(text, html_body=self.format == "html")[0]


@dataclass(frozen=True)
class Details:
    """What a post says beyond what chooses it: titles, tags, excerpt, feature text, image,
    author and body. Feeds and emails read them for the few posts they show."""

    title: str
    title_html: str
    tags: tuple[str, ...]
    excerpt: str
    feature_source: str
    image: Image | None
    author: Author
    body: Body


class PackedDetails:
    """A cached post's `Details` as the parse cache keeps them (one marshalled string),
    decoded by `load` on first use and kept.

    A warm index makes 10,000 posts from the cache, and feeds and emails read the details
    of a few hundred: the others never decode theirs. Equal to, hashing like and pickled as
    the `Details` it decodes to.
    """

    __slots__ = ("_details", "_load", "_packed")

    def __init__(self, packed: bytes, load: Callable[[bytes], Details]) -> None:
        self._packed = packed
        self._load = load
        self._details: Details | None = None

    @property
    def unpacked(self) -> bool:
        """Whether the details have been decoded."""
        return self._details is not None

    def unpack(self) -> Details:
        """The details, decoded once."""
        if self._details is None:
            self._details = self._load(self._packed)
        return self._details

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedDetails):
            other = other.unpack()
        return self.unpack() == other

    def __hash__(self) -> int:
        return hash(self.unpack())

    def __repr__(self) -> str:
        return repr(self.unpack())

    def __reduce__(self) -> tuple[type[Details], tuple[Any, ...]]:
        details = self.unpack()
        return Details, tuple(getattr(details, f.name) for f in fields(Details))


@dataclass(frozen=True)
class Post:
    """One published post, with every field settled.

    `source` is the file's path relative to the content folder (POSIX form); it keys the
    post in the store. Dates are aware (stored in UTC; show them in the site's time zone).
    The fields that choose which posts a feed or a newsletter shows are plain; the rest
    are `details` (perhaps still packed as the parse cache keeps them), read through the
    properties below: `title` is plain text (tags stripped, newlines collapsed) and
    `title_html` keeps inline markup as written; `excerpt` is plain text;
    `feature_source` is the front matter `feature_text` as written (Markdown), rendered on
    use by `feature_html` and `feature_text`; `body_html` is the body as HTML with its
    URLs as written (feeds and emails make them absolute when they clean it).

    `url`, the image's URL and the author's `uri` are web links (checked by
    `urls.web_url`). `notes` are the problems that cost the post a piece but not its
    place (an image that cannot be used, no title): the indexer reports them on every run.
    """

    source: str
    id: str
    url: str
    date: datetime
    date_source: DateSource
    updated: datetime
    categories: tuple[str, ...]
    details: Details | PackedDetails
    excerpt_only: bool = False
    untitled: bool = False  # no title of its own: shown by its file name, never announced
    notes: tuple[tuple[int, str], ...] = ()  # (line, message): what it goes out without

    @classmethod
    def from_cache(cls, fields: dict[str, Any]) -> Post:
        """A post from the values of a parse cache row (checked when the row was written), set
        as they are: every field must be in `fields`. A frozen dataclass's __init__ sets each
        field through object.__setattr__: 2.3 us a post against 1.2 us here, paid 10,000 times
        by a warm index of 10,000 posts (benchmarks/README.md)."""
        post = object.__new__(cls)
        post.__dict__.update(fields)
        return post

    def __post_init__(self) -> None:
        if self.date.tzinfo is None or self.updated.tzinfo is None:
            raise ValueError(f"{self.source}: post dates must be timezone-aware")

    @property
    def unpacked(self) -> Details:
        """The details, decoded if they were still packed."""
        details = self.details
        return details.unpack() if isinstance(details, PackedDetails) else details

    def with_details(self, **changes: Any) -> Post:
        """This post with some details changed (`title=...`)."""
        return replace(self, details=replace(self.unpacked, **changes))

    @property
    def title(self) -> str:
        """Plain text: tags stripped, whitespace collapsed."""
        return self.unpacked.title

    @property
    def title_html(self) -> str:
        """The title with its inline markup as written."""
        return self.unpacked.title_html

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags, as written."""
        return self.unpacked.tags

    @property
    def excerpt(self) -> str:
        """Plain text."""
        return self.unpacked.excerpt

    @property
    def feature_source(self) -> str:
        """The front matter `feature_text` as written (Markdown)."""
        return self.unpacked.feature_source

    @property
    def image(self) -> Image | None:
        """The post's image, if any."""
        return self.unpacked.image

    @property
    def author(self) -> Author:
        """Who wrote it."""
        return self.unpacked.author

    @property
    def body(self) -> Body:
        """The body, read from its file on first use."""
        return self.unpacked.body

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
