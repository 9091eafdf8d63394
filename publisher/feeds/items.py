"""One post as every feed shows it: cleaned once, whatever number of feeds shows it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

from publisher.config import Config
from publisher.content.clean import clean_html, one_line, safe_text
from publisher.content.post import Author, Post
from publisher.content.urls import absolute_url, iri_to_uri
from publisher.errors import Problem
from publisher.stopping import Stopped

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedImage:
    """A post's image as feeds carry it; `length` None when its byte length is unknown."""

    url: str
    mime_type: str
    length: int | None
    alt: str

    @property
    def enclosable(self) -> bool:
        """An enclosure needs a type; without one only media:content."""
        return bool(self.mime_type)

    @property
    def enclosure_length(self) -> str:
        """The enclosure's length: '0' when unknown, as the RSS Best Practices Profile says."""
        return str(self.length if self.length is not None else 0)


@dataclass(frozen=True)
class FeedItem:
    """One post as every feed shows it; `content_html` is None when only the excerpt goes out."""

    id: str
    url: str
    title: str
    published: datetime
    updated: datetime
    author: Author
    categories: tuple[str, ...]
    summary: str
    content_html: str | None
    image: FeedImage | None


def make_items(
    config: Config,
    posts: Sequence[Post],
    lengths: Mapping[str, int | None],
    shifts: Mapping[str, int],
    stop: Callable[[], bool] = lambda: False,
) -> list[FeedItem]:
    """Posts cleaned for feeds, given their images' byte lengths and update shifts by post id;
    Stopped between two posts once `stop()` turns true."""
    if not config.feeds.excerpt_only:
        # Every body read first, then every post cleaned: the CPU's caches stay warm.
        for post in posts:
            if not post.excerpt_only:
                post.body_html  # noqa: B018 (reads and keeps the body)
    items = []
    for post in posts:
        if stop():
            raise Stopped
        items.append(
            make_item(config, post, length=lengths.get(post.id), shift=shifts.get(post.id, 0))
        )
    return items


def make_item(config: Config, post: Post, *, length: int | None, shift: int = 0) -> FeedItem:
    """One post, cleaned for feeds; `length` is its image's byte length (see image_length)."""
    image = None
    if post.image is not None:
        url = absolute_url(post.image.url, post.url)
        image = FeedImage(url, post.image.mime_type, length, one_line(post.image.alt))
    excerpt_only = config.feeds.excerpt_only or post.excerpt_only
    content = None
    if not excerpt_only:
        lead = (image.url, image.alt) if image is not None else None
        # Cleaning makes every URL absolute against the post's: the body goes in as written.
        content = clean_html(post.body_html, post.url, lead_image=lead)
    author = post.author
    name = one_line(author.name) or one_line(config.site.author) or one_line(config.site.title)
    email = author.email or ("" if author.name else config.site.author_email)
    return FeedItem(
        id=iri_to_uri(post.id),
        url=iri_to_uri(post.url),
        title=one_line(post.title) or one_line(post.excerpt)[:80] or post.url,
        # Shown in the site's zone: the instant is the same, and readers see local times.
        published=post.date.replace(microsecond=0).astimezone(config.site.tz),
        updated=(
            max(post.updated, post.date).replace(microsecond=0) + timedelta(seconds=shift)
        ).astimezone(config.site.tz),
        author=Author(name, one_line(email), iri_to_uri(author.uri) if author.uri else ""),
        categories=unique(one_line(c) for c in (*post.categories, *post.tags)),
        summary=safe_text(post.excerpt).strip(),
        content_html=content,
        image=image,
    )


def image_length(config: Config, post: Post, problems: list[Problem]) -> int | None:
    """The byte length of the post's image: given, or read from [content] static_dir; None
    when neither tells (`lengths` may then ask its server)."""
    assert post.image is not None
    if post.image.length is not None:
        return post.image.length
    return _local_length(config, absolute_url(post.image.url, post.url), post.source, problems)


def local_image(config: Config, url: str) -> Path | None:
    """Where under [content] static_dir the site serves the image at absolute `url` from
    (links not followed; the file may be missing or lead outside), or None when there is
    no static_dir or `url` is not the site's."""
    static_dir = config.content.static_dir
    if static_dir is None or not url.startswith(config.site.url):
        return None
    # The path is what comes before any query or fragment. Not urlsplit: a path starting
    # '//[' would be read as a broken IPv6 host and raise.
    url_path = url[len(config.site.url) :].partition("?")[0].partition("#")[0]
    return Path(static_dir).resolve() / unquote(url_path).lstrip("/")


def _local_length(config: Config, url: str, source: str, problems: list[Problem]) -> int | None:
    """The byte length of an image served from the site, read from [content] static_dir."""
    where = local_image(config, url)
    if where is None:
        return None
    root = Path(str(config.content.static_dir)).resolve()
    path = where.resolve()
    if not path.is_relative_to(root) or not path.is_file():
        problems.append(
            Problem(
                source,
                f"image {url!r} is not a file under [content] static_dir ({where}): "
                'its size is unknown, so its enclosure says length="0"; '
                "add the file or fix the image path",
                warning=True,
            )
        )
        return None
    return path.stat().st_size


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """Values in first-seen order, empty ones and repeats dropped."""
    return tuple(dict.fromkeys(v for v in values if v))


__all__ = [
    "FeedImage",
    "FeedItem",
    "image_length",
    "local_image",
    "make_item",
    "make_items",
    "unique",
]
