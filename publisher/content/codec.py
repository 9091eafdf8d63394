"""Posts to and from rows of plain values for the parse cache (stored with marshal).

A row keeps what indexing and choosing each feed's posts read of every post (source, id,
URL, dates, categories) as plain values and packs the rest, the post's `Details` (titles,
excerpt, feature text, image, author, body), into one marshalled string: a decoded post
holds it as `PackedDetails`, unpacked only when something reads those fields.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from publisher.content.post import Author, Body, Details, Image, PackedDetails, Post

if TYPE_CHECKING:
    from publisher.content.jekyll import Liquid

# Bump when the row layout changes; it is part of the cache fingerprint.
LAYOUT = 6  # 6: Liquid flag, untitled and notes, the web link gate; 4: IDNA hosts


Row = tuple[Any, ...]
Loader = Callable[[bytes], Details]


def values(post: Post) -> Row:
    """Every field of a post as plain values, in a fixed order (cache rows and fingerprints)."""
    details = post.unpacked
    image, author, body = details.image, details.author, details.body
    return (
        post.source,
        post.id,
        post.url,
        post.date.timestamp(),
        post.date_source,
        post.categories,
        post.excerpt_only,
        post.untitled,
        post.notes,
        post.updated.timestamp(),
        details.title,
        details.title_html,
        details.tags,
        details.excerpt,
        details.feature_source,
        None if image is None else (image.url, image.mime_type, image.length, image.alt),
        (author.name, author.email, author.uri),
        body.format,
        body.path,
        body.liquid is not None,
    )


_EAGER = 10  # values() up to here stay plain in a row (all that indexing, feed selection
# and newsletter planning read of every post); the rest is packed


def encode(post: Post | None) -> Row | None:
    """A Post (or None for a file that is not published) as a row for the parse cache."""
    if post is None:
        return None
    row = values(post)
    eager = row[:_EAGER]
    if post.updated == post.date:
        eager = (*eager[:-1], None)  # the common case: one datetime made, shared
    return (*eager, marshal.dumps(row[_EAGER:]))


def loader(liquid: Liquid | None = None) -> Loader:
    """What decodes the packed part of rows; posts it decodes share equal Author values, and
    those whose body holds Liquid render it with `liquid` when read."""
    authors: dict[tuple[str, str, str], Author] = {}

    def load(packed: bytes) -> Details:
        fields = marshal.loads(packed)  # noqa: S302 (our own state file)
        title, title_html, tags, excerpt, feature, image, who, fmt, path, has_liquid = fields
        author = authors.get(who)
        if author is None:
            author = authors[who] = Author(*who)
        return Details(
            title=title,
            title_html=title_html,
            tags=tags,
            excerpt=excerpt,
            feature_source=feature,
            image=None if image is None else Image(*image),
            author=author,
            body=Body(fmt, path=path, liquid=liquid if has_liquid else None),
        )

    return load


def decode(rows: Iterable[Row], load: Loader) -> list[Post]:
    """The Posts that `encode` wrote, their details packed for `load` to decode on use."""
    when = datetime.fromtimestamp
    return [
        Post.from_cache(
            {
                "source": row[0],
                "id": row[1],
                "url": row[2],
                "date": (date := when(row[3], UTC)),
                "date_source": row[4],
                "categories": row[5],
                "excerpt_only": row[6],
                "untitled": row[7],
                "notes": row[8],
                "updated": date if row[9] is None else when(row[9], UTC),
                "details": PackedDetails(row[10], load),
            }
        )
        for row in rows
    ]
