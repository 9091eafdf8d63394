"""JSON Feed 1.1 documents (https://jsonfeed.org/version/1.1) from a `Feed`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from publisher.feeds.items import FeedItem
from publisher.feeds.model import Feed

VERSION = "https://jsonfeed.org/version/1.1"


def render_json(feed: Feed, items: Mapping[str, bytes]) -> bytes:
    """The JSON Feed 1.1 document for `feed` (UTF-8, keys in a fixed order), `items` by id."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": feed.file("json").url,
    }
    if feed.subtitle:
        doc["description"] = feed.subtitle
    if feed.logo or feed.icon:
        doc["icon"] = feed.logo or feed.icon
    if feed.icon:
        doc["favicon"] = feed.icon
    doc["language"] = feed.language
    if feed.hub:
        doc["hubs"] = [{"type": "WebSub", "url": feed.hub}]
    head = json.dumps(doc, ensure_ascii=False, indent=2)
    encoded = [items[i.id] for i in feed.items]
    # The feed's own keys indented, one item a line: indenting every item would send
    # the encoding through json's slow pure-Python path.
    listed = [b"[\n    ", b",\n    ".join(encoded), b"\n  ]"] if encoded else [b"[]"]
    return b"".join([(head[:-2] + ',\n  "items": ').encode("utf-8"), *listed, b"\n}\n"])


def json_items(items: Sequence[FeedItem]) -> dict[str, bytes]:
    """Each item as one line of UTF-8 JSON, by item id."""
    return {i.id: json.dumps(_item(i), ensure_ascii=False).encode("utf-8") for i in items}


def _item(item: FeedItem) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "url": item.url, "title": item.title}
    if item.content_html:
        out["content_html"] = item.content_html
    else:
        # An item needs content_html or content_text; excerpt-only posts send the excerpt.
        out["content_text"] = item.summary or item.title
    if item.summary:
        out["summary"] = item.summary
    if item.image is not None:
        out["image"] = item.image.url
    out["date_published"] = item.published.isoformat()
    out["date_modified"] = item.updated.isoformat()
    author: dict[str, str] = {"name": item.author.name}
    if item.author.uri:
        author["url"] = item.author.uri
    out["authors"] = [author]
    if item.categories:
        out["tags"] = list(item.categories)
    return out
