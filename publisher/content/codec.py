"""Posts to and from compact rows for the parse cache (marshal: plain values, fast to load)."""

from __future__ import annotations

import marshal
from datetime import UTC, datetime
from typing import Any

from publisher.content.post import Author, Body, Image, Post

# Bump when the row layout changes; it is part of the cache fingerprint.
LAYOUT = 1


def encode(post: Post | None) -> bytes:
    """A Post (or None for a file that is not published) as bytes."""
    if post is None:
        return marshal.dumps(None)
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
    return marshal.dumps(row)


def decode(data: bytes) -> Post | None:
    """The Post that `encode` wrote."""
    row: Any = marshal.loads(data)  # noqa: S302 (our own state file, written by encode)
    if row is None:
        return None
    image = row[12]
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
        author=Author(*row[13]),
        body=Body(row[14], path=row[15]),
        excerpt_only=row[16],
    )
