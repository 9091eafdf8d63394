"""Posts to and from rows of plain values for the parse cache (stored with marshal)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from publisher.content.post import Author, Body, Image, Post

# Bump when the row layout changes; it is part of the cache fingerprint.
LAYOUT = 1


Row = tuple[Any, ...]


def encode(post: Post | None) -> Row | None:
    """A Post (or None for a file that is not published) as a tuple of plain values."""
    if post is None:
        return None
    image = post.image
    row = (
        post.source,
        post.id,
        post.url,
        post.title,
        post.title_html,
        post.date.timestamp(),
        post.date_source,
        post.updated.timestamp(),
        post.categories,
        post.tags,
        post.excerpt,
        post.feature_source,
        None if image is None else (image.url, image.mime_type, image.length, image.alt),
        (post.author.name, post.author.email, post.author.uri),
        post.body.format,
        post.body.path,
        post.excerpt_only,
    )
    return row


def decode(row: Row | None, authors: dict[Row, Author]) -> Post | None:
    """The Post that `encode` wrote; `authors` shares one Author value among posts."""
    if row is None:
        return None
    image = row[12]
    author = authors.get(row[13])
    if author is None:
        author = authors[row[13]] = Author(*row[13])
    return Post(
        source=row[0],
        id=row[1],
        url=row[2],
        title=row[3],
        title_html=row[4],
        date=datetime.fromtimestamp(row[5], UTC),
        date_source=row[6],
        updated=datetime.fromtimestamp(row[7], UTC),
        categories=row[8],
        tags=row[9],
        excerpt=row[10],
        feature_source=row[11],
        image=None if image is None else Image(*image),
        author=author,
        body=Body(row[14], path=row[15]),
        excerpt_only=row[16],
    )
