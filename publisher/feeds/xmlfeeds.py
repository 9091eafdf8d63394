"""Atom 1.0 and RSS 2.0 documents from a `Feed`: feedgen's API, and its defects, stay here.

feedgen 1.0 builds the documents; this module works around what it gets wrong (see
STYLE.md, "Known traps"): `updated` comes from the posts, entry links get their rel and
type back, Atom enclosure links and the RSS hub link are added to the tree, media
elements are not wrapped in `media:group`, and an RSS enclosure always has a length ('0'
when unknown, as the RSS Best Practices Profile advises; Atom's optional one is left out).

A post shows in several feeds (the site's and its categories'), so each entry is built
and serialized once per format (`xml_entries`) and spliced, in order, into each feed's
feed-level document (`render_atom`, `render_rss`). The HTML content, the bulk of an
entry, goes through feedgen as a short stand-in and is escaped once per post for both
formats (exactly as libxml2 escapes text), then put in its place: feedgen and lxml would
otherwise check, copy and escape every body twice.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import lxml.etree
from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator

from publisher.content.clean import html_text
from publisher.feeds.items import FeedItem
from publisher.feeds.model import GENERATOR, MEDIA_TYPES, Feed, Format

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
RSS_NAMESPACES = {
    "media": MEDIA_NS,
    "dc": "http://purl.org/dc/elements/1.1/",
    "atom": ATOM_NS,
    "content": "http://purl.org/rss/1.0/modules/content/",
}
_PARSER = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# Placeholders for '&' and '<' in RSS plain-text fields, turned into the hexadecimal
# character references the RSS Best Practices Profile asks for once serialized (lxml
# only writes '&amp;' and '&lt;'). safe_text never lets them through from posts.
_AMP, _LT = "\ue000", "\ue001"
_HTML_LIKE = re.compile(r"</?[a-zA-Z]|&#?\w+;")
_END_TAG = re.compile(r"</(?=[a-zA-Z])")
# Stands in for an item's content in feedgen's tree. Raw '<' only starts markup, so the
# element start followed by it is found nowhere else in a serialized entry.
_CONTENT = "publisher:content"
_ATOM_CONTENT = b'<content type="html">' + _CONTENT.encode()
_RSS_CONTENT = b"<content:encoded>" + _CONTENT.encode()


def xml_entries(
    items: Sequence[FeedItem], formats: Collection[Format]
) -> dict[Format, dict[str, bytes]]:
    """The Atom entries and RSS items (those of `formats`) of `items`, by format and item id.

    Each format is done for all the items before the next: the same code and data stay in
    the CPU's caches.
    """
    contents = [_escape_text(i.content_html) if i.content_html else b"" for i in items]
    entries: dict[Format, dict[str, bytes]] = {}
    if "atom" in formats:
        entries["atom"] = {
            i.id: _with_content(_atom_entry(i), _ATOM_CONTENT, c)
            for i, c in zip(items, contents, strict=True)
        }
    if "rss" in formats:
        entries["rss"] = {
            i.id: _with_content(_rss_item(i), _RSS_CONTENT, c)
            for i, c in zip(items, contents, strict=True)
        }
    return entries


def render_atom(feed: Feed, entries: Mapping[str, bytes]) -> bytes:
    """The Atom 1.0 document for `feed` as UTF-8 bytes, its items' `entries` by item id."""
    fg = _generator(feed, "atom")
    root = lxml.etree.fromstring(fg.atom_str(), _PARSER)
    _fix_text(root.find(f"{{{ATOM_NS}}}title"))
    _fix_text(root.find(f"{{{ATOM_NS}}}subtitle"))
    return _splice(_serialize(root, feed), b"\n</feed>", [entries[i.id] for i in feed.items])


def render_rss(feed: Feed, entries: Mapping[str, bytes]) -> bytes:
    """The RSS 2.0 document for `feed` as UTF-8 bytes, its items' `entries` by item id."""
    fg = _generator(feed, "rss")
    root = lxml.etree.fromstring(fg.rss_str(), _PARSER)
    if feed.hub:
        # feedgen writes only the self link of the atom:link elements in RSS.
        self_link = root.find(f"channel/{{{ATOM_NS}}}link")
        assert self_link is not None
        self_link.addnext(lxml.etree.Element(f"{{{ATOM_NS}}}link", href=feed.hub, rel="hub"))
    document = _rss_refs(_serialize(root, feed))
    return _splice(document, b"\n  </channel>", [entries[i.id] for i in feed.items])


def _with_content(entry: bytes, mark: bytes, content: bytes) -> bytes:
    """The entry with the escaped content in place of the stand-in feedgen wrote."""
    if not content:
        return entry
    return entry.replace(mark, mark[: -len(_CONTENT)] + content, 1)


def _escape_text(text: str) -> bytes:
    """Text as libxml2 writes it in an element (UTF-8): '&', '<', '>' and CR escaped."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;").encode("utf-8")


def _splice(document: bytes, before: bytes, entries: list[bytes]) -> bytes:
    at = document.rindex(before)
    return b"".join([document[:at], *entries, document[at:]])  # one copy of the entries


def _atom_entry(item: FeedItem) -> bytes:
    fe = FeedEntry()
    # register_extension, not load_extension: that one retries a failing import each time.
    fe.register_extension("media", MediaEntryExtension, atom=True, rss=False)
    _entry(fe, item, "atom")
    entry = fe.atom_entry()
    for link in entry.iterfind("link"):
        # feedgen drops rel/type of entry links (upstream #135); put them back.
        link.set("rel", "alternate")
        link.set("type", "text/html")
    image = item.image
    if image is not None and image.enclosable:
        # feedgen loses rel/type/length of Atom enclosure links (upstream #143).
        alternate = entry.find("link")
        assert alternate is not None
        link = lxml.etree.Element("link", rel="enclosure", type=image.mime_type)
        if image.length is not None:
            # Atom's length is advisory and optional: left out when unknown, where RSS,
            # which requires one, says '0'.
            link.set("length", str(image.length))
        link.set("href", image.url)
        alternate.addnext(link)
    _fix_text(entry.find("title"))
    _fix_text(entry.find("summary"))
    # Atom's namespace is the document's default: the entry is written without one, as
    # feedgen does, inside a stand-in <feed> that declares media: once, then cut out.
    holder = lxml.etree.Element("feed", nsmap={"media": MEDIA_NS})
    holder.append(entry)
    return _cut(holder, b"entry", level=1)


def _rss_item(item: FeedItem) -> bytes:
    fe = FeedEntry()
    fe.register_extension("media", MediaEntryExtension, atom=False, rss=True)
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    _entry(fe, item, "rss")
    holder = lxml.etree.Element("rss", nsmap=RSS_NAMESPACES)
    lxml.etree.SubElement(holder, "channel").append(fe.rss_entry())
    return _rss_refs(_cut(holder, b"item", level=2))


def _cut(holder: Any, tag: bytes, *, level: int) -> bytes:
    """The one `tag` element inside `holder`, serialized and indented at `level`."""
    lxml.etree.indent(holder, space="  ")
    text: bytes = lxml.etree.tostring(holder, encoding="UTF-8")
    # Raw '<' only starts markup (text and attributes are escaped), so the first
    # '<tag' and the last '</tag>' are the element's own.
    start = text.index(b"<" + tag)
    end = text.rindex(b"</" + tag + b">") + len(tag) + 3
    return b"\n" + b"  " * level + text[start:end]


def _rss_refs(data: bytes) -> bytes:
    return data.replace(_AMP.encode(), b"&#x26;").replace(_LT.encode(), b"&#x3C;")


def _generator(feed: Feed, fmt: Format) -> Any:
    fg = FeedGenerator()
    # register_extension, not load_extension: that one retries a failing import each time.
    fg.register_extension("media", MediaExtension, MediaEntryExtension)
    if fmt == "rss":
        fg.register_extension("dc", DcExtension, DcEntryExtension, atom=False, rss=True)
    fg.id(feed.id)
    fg.title(_text(feed.title, fmt))
    if feed.subtitle or fmt == "rss":
        # RSS requires a description; the title stands in when the site has none.
        fg.subtitle(_text(feed.subtitle or feed.title, fmt))
    fg.language(feed.language)
    fg.generator(*GENERATOR)
    # feedgen defaults `updated`/lastBuildDate to now; the newest item keeps output stable.
    fg.updated(feed.updated)
    fg.link(href=feed.file(fmt).url, rel="self", type=MEDIA_TYPES[fmt])
    if feed.hub and fmt == "atom":
        fg.link(href=feed.hub, rel="hub")
    # Added last: feedgen's RSS channel <link> is whichever link came last.
    fg.link(href=feed.home_url, rel="alternate", type="text/html")
    if feed.icon and fmt == "atom":
        fg.icon(feed.icon)
    if feed.logo or (feed.icon and fmt == "rss"):
        fg.logo(feed.logo or feed.icon)
    return fg


def _entry(fe: Any, item: FeedItem, fmt: Format) -> None:
    fe.guid(item.id, permalink=item.id == item.url)
    fe.title(_text(item.title, fmt))
    fe.link(href=item.url, rel="alternate")
    fe.published(item.published)
    fe.updated(item.updated)
    author = {"name": _text(item.author.name, fmt)}
    if item.author.email:
        author["email"] = item.author.email
    if item.author.uri and fmt == "atom":
        author["uri"] = item.author.uri
    fe.author(author)
    if fmt == "rss" and not item.author.email:
        # RSS <author> must be an email address; dc:creator carries a bare name.
        fe.dc.dc_creator(_text(item.author.name, fmt))
    if item.categories:
        fe.category([{"term": _text(c, fmt)} for c in item.categories])
    if fmt == "atom":
        if item.summary:
            fe.summary(item.summary)
        if item.content_html:
            fe.content(_CONTENT, type="html")
    else:
        # RSS description is HTML to readers: the plain excerpt goes in escaped.
        fe.description(html_text(item.summary or item.title))
        if item.content_html:
            fe.content(_CONTENT)
    image = item.image
    if image is not None:
        media: dict[str, Any] = {"url": image.url, "medium": "image", "group": None}
        if image.mime_type:
            media["type"] = image.mime_type
        if image.length is not None:
            media["fileSize"] = str(image.length)
        # group=None: feedgen otherwise wraps a lone media:content in media:group.
        fe.media.content(media, group=None)
        fe.media.thumbnail({"url": image.url, "group": None}, group=None)
        if fmt == "rss" and image.enclosable:
            # Never without a length: feedgen would write length="None".
            fe.enclosure(image.url, image.enclosure_length, image.mime_type)


def _fix_text(element: Any) -> None:
    # An Atom text construct (title, subtitle, summary) holding plain text that looks like
    # markup ('</div>', '&amp;') is sent as escaped HTML, so no reader (or validator) takes
    # it for undeclared HTML.
    if element is not None and element.text and _HTML_LIKE.search(element.text):
        element.text = html_text(element.text)
        element.set("type", "html")


def _text(text: str, fmt: Format) -> str:
    if fmt == "atom":
        return text
    # No reader agrees on whether RSS plain text is HTML; an end tag is split so none
    # takes it for markup, and '&'/'<' become character references once serialized.
    return _END_TAG.sub("<\u200b/", text).replace("&", _AMP).replace("<", _LT)


def _serialize(root: Any, feed: Feed) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if feed.stylesheet is not None:
        kind, href = feed.stylesheet
        href = html_text(href).replace('"', "&quot;")
        head += f'<?xml-stylesheet type="{kind}" href="{href}"?>\n'.encode()
    lxml.etree.indent(root, space="  ")
    body: bytes = lxml.etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return head + body + b"\n"
