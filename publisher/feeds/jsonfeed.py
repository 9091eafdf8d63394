"""JSON Feed 1.1 documents (https://jsonfeed.org/version/1.1) from a `Feed`."""

from __future__ import annotations

import json
from typing import Any

from publisher.feeds.items import FeedItem
from publisher.feeds.model import Feed

VERSION = "https://jsonfeed.org/version/1.1"


class JsonItems:
    """JSON Feed items, each encoded once per build and reused by every feed showing it."""

    def __init__(self) -> None:
        self._items: dict[str, bytes] = {}

    def render_json(self, feed: Feed) -> bytes:
        """The JSON Feed 1.1 document for `feed`, as UTF-8 bytes (keys in a fixed order)."""
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
        items = [self._encoded(item) for item in feed.items]
        # The feed's own keys indented, one item a line: indenting every item would send
        # the encoding through json's slow pure-Python path.
        listed = [b"[\n    ", b",\n    ".join(items), b"\n  ]"] if items else [b"[]"]
        return b"".join([(head[:-2] + ',\n  "items": ').encode("utf-8"), *listed, b"\n}\n"])

    def _encoded(self, item: FeedItem) -> bytes:
        """The item as one line of UTF-8 JSON, encoded once per build."""
        encoded = self._items.get(item.id)
        if encoded is None:
            encoded = json.dumps(_item(item), ensure_ascii=False).encode("utf-8")
            self._items[item.id] = encoded
        return encoded


def render_json(feed: Feed) -> bytes:
    """The JSON Feed 1.1 document for `feed` alone."""
    return JsonItems().render_json(feed)


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
