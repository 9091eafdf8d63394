"""Text and HTML from posts made safe for readers: the one place feeds and emails clean them.

Feed readers (and the W3C Feed Validator) refuse or warn on what browsers forgive, and
mail clients on what feed readers forgive: control characters, line breaks in one-line
fields (a header), scripts, event handlers, forms, comments (which may hold `--`),
relative or non-ASCII URLs. `safe_text` and `one_line` clean text, `clean_html` a body or
feature text. Each runs once per post, not per feed or per message.

`clean_html` hands the HTML to nh3 (the Rust sanitizer ammonia, on the html5ever parser)
with an allow-list of elements and attributes; what no allow-list can do is done around
it: embedded players become links (before), every URL goes through `urls.web_url`, the
one gate for links from posts (during), and the lead image is put first (after).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

import lxml.etree
import nh3

from publisher.content.html import html_to_text
from publisher.content.nesting import too_deep
from publisher.content.urls import NotAWebLink, web_url

# XML 1.0 forbids C0 controls but tab/newline/return, surrogates and U+FFFE/U+FFFF; C1
# controls and U+FFFD are legal XML but the validator flags them as mis-decoded text.
# U+E000/U+E001 are reserved as placeholders by the RSS writer (see xmlfeeds).
_BAD_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000\ue001\ufffd\ufffe\uffff]"
)
_WHITESPACE = re.compile(r"\s+")
# What may not stand in a one-line field: controls, line and paragraph separators, bidi
# overrides (a header must not turn, nor a name run backwards).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")

# What a feed or an email may carry: the elements of articles (the feed validator's list,
# without forms, their controls, and canvas). Others are unwrapped: their text stays.
_TAGS_WORDS = (
    "a abbr acronym address area article aside audio b bdi big blockquote br caption "
    "center cite code col colgroup data dd del details dfn dir div dl dt em figcaption "
    "figure footer font h1 h2 h3 h4 h5 h6 header hgroup hr i img ins kbd li main map mark "
    "menu nav ol p picture pre q rp rt ruby s samp section small source span strike strong "
    "sub summary sup table tbody td tfoot th thead time tr track tt u ul var video wbr"
)
_TAGS = frozenset(_TAGS_WORDS.split())
# Removed with everything inside them: code, page furniture, what a reader can't show,
# and form fields whose text is data, not prose.
_DROPPED_WORDS = (
    "script style head title meta link base applet frame frameset noframes iframe embed "
    "object xmp plaintext template svg math select textarea datalist"
)
_DROPPED = frozenset(_DROPPED_WORDS.split())
# Attributes any allowed element may keep (besides data-*); event handlers, `style`,
# forms' and namespaced attributes are never on it.
_ATTRIBUTES_WORDS = (
    "abbr align alt border cellpadding cellspacing cite class colspan controls coords "
    "datetime default dir headers height href hreflang id kind label lang loop media muted "
    "name open playsinline poster preload rel reversed rowspan scope shape sizes span src "
    "srclang srcset start summary title type usemap valign value width"
)
_ATTRIBUTES = {"*": set(_ATTRIBUTES_WORDS.split())}
# Attributes holding one URL: each goes through the gate; mailto: only where it is a link.
_URL_ATTRIBUTES = frozenset({"href", "src", "poster", "cite"})
# Embedded players become a plain link to what they embedded.
_EMBEDS = {"iframe": "src", "embed": "src", "object": "data"}
_HAS_EMBED = re.compile(r"<(?:iframe|embed|object)\b", re.IGNORECASE)


def safe_text(text: str) -> str:
    """`text` without characters XML forbids or the validator flags; nothing else changes."""
    return _BAD_CHARS.sub("", text)


def one_line(text: str) -> str:
    """Plain text for a one-line field (title, category, name, a header): bad characters
    dropped, line and paragraph separators, bidi overrides and other controls made spaces,
    runs of spaces collapsed, ends trimmed."""
    if text.isprintable() and "\ufffd" not in text:
        return text.strip() if "  " not in text else _WHITESPACE.sub(" ", text).strip()
    return _WHITESPACE.sub(" ", _CONTROL.sub(" ", safe_text(text))).strip()


def clean_html(fragment: str, base_url: str, *, lead_image: tuple[str, str] | None = None) -> str:
    """HTML safe for feeds and emails: allowed elements and attributes only, every URL an
    absolute web link (made so against `base_url`), no comments or bad characters.

    `lead_image` is (url, alt) of an image to show first, unless the content already shows
    it (the url must already be a web link: the post's image is).
    """
    text = safe_text(fragment)
    if too_deep(text):
        # Parsers take time that grows with the square of the depth: keep the words only.
        # (The indexer has already reported such a post and left it out.)
        text = f"<p>{html.escape(html_to_text(text), quote=False)}</p>"
    if _HAS_EMBED.search(text):
        text = _embeds_as_links(text, base_url)
    call = _Call(base_url)
    _calls.current = call
    try:
        cleaned = _cleaner().clean(text)
    finally:
        _calls.current = None
    if "&#" in fragment:
        # A character reference brings back what safe_text removed, once it is decoded.
        cleaned = safe_text(cleaned)
    if lead_image is not None and lead_image[0] not in call.shown:
        url, alt = (html.escape(v) for v in lead_image)
        lead = f'<p><img src="{url}" alt="{alt}"></p>'
        cleaned = f"{lead}\n{cleaned}" if cleaned.strip() else lead
    return cleaned.strip()


class _Call:
    """One clean_html call, as its attribute filter sees it: the base URL, and the images
    the content shows."""

    __slots__ = ("base_url", "shown")

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.shown: set[str] = set()


# The call under way in each thread: the sanitizer is built once (a tenth of the cost of a
# post), so its filter finds the call's base URL here.
_calls = threading.local()


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=_DROPPED,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute,
        generic_attribute_prefixes={"data-"},
        link_rel=None,
        url_schemes={"http", "https", "mailto"},
        strip_comments=True,
    )


def _attribute(element: str, name: str, value: str) -> str | None:
    """An allowed attribute as it may stay (None: dropped): every URL through the gate."""
    call: _Call = _calls.current
    if name in _URL_ATTRIBUTES:
        try:
            url = web_url(value, call.base_url, mailto=name == "href")
        except ValueError:  # NotAWebLink, or a URL nothing can read
            return None
        if element == "img" and name == "src":
            call.shown.add(url)
        return url
    if name == "srcset":
        return _srcset(value, call.base_url) or None
    if name == "usemap":  # names a <map> of the page ('#name'): never a link elsewhere
        return value if value.startswith("#") else None
    return value


def _srcset(value: str, base_url: str) -> str:
    """Each candidate of a srcset through the gate; those that fail are left out.

    Read as browsers read it: a URL runs to the next space (it may hold commas, as data:
    URLs do), and its descriptors run to the next comma.
    """
    candidates = []
    for url, descriptors in _candidates(value):
        try:
            url = web_url(url, base_url)
        except ValueError:
            continue
        descriptors = " ".join(descriptors.split())
        candidates.append(f"{url} {descriptors}" if descriptors else url)
    return ", ".join(candidates)


def _candidates(value: str) -> Iterator[tuple[str, str]]:
    """(URL, descriptors) of each srcset candidate, in one pass: a URL has no spaces and ends
    in no comma (commas after it end the candidate); its descriptors run to the next comma."""
    pos, end = 0, len(value)
    while True:
        start = _CANDIDATE_START.search(value, pos)
        if start is None:
            return
        url_end = _SPACE.search(value, start.start())
        stop = url_end.start() if url_end else end
        url = value[start.start() : stop].rstrip(",")
        if len(url) < stop - start.start() or url_end is None:  # commas ended it, or the text
            yield url, ""
            pos = stop
            continue
        comma = value.find(",", stop)
        comma = end if comma == -1 else comma
        yield url, value[stop:comma]
        pos = comma


_CANDIDATE_START = re.compile(r"[^\s,]")
_SPACE = re.compile(r"\s")


_HTML_PARSER = lxml.etree.HTMLParser(
    remove_blank_text=False, remove_comments=True, remove_pis=True, no_network=True
)


def _embeds_as_links(fragment: str, base_url: str) -> str:
    """The fragment with each iframe, embed and object a paragraph linking to what it played
    (or gone, when it played nothing that is a web link)."""
    doc = lxml.etree.fromstring(f"<div>{fragment}</div>", _HTML_PARSER)
    body = doc.find("body")
    assert body is not None
    for element in list(body.iter("iframe", "embed", "object")):
        _replace_embed(element, base_url)
    # Serialized child by child: the text after an unbalanced </div> is in the body too.
    root = body[0]
    parts = [root.text or ""]
    parts += [lxml.etree.tostring(child, method="html", encoding="unicode") for child in root]
    parts.append(root.tail or "")
    parts += [
        lxml.etree.tostring(extra, method="html", encoding="unicode") for extra in list(body)[1:]
    ]
    return "".join(parts)


def _replace_embed(element: Any, base_url: str) -> None:
    """An embedded player becomes a paragraph linking to what it played."""
    parent = element.getparent()
    try:
        href = web_url(element.get(_EMBEDS[element.tag], ""), base_url)
    except NotAWebLink:
        href = ""
    if not href:
        # Nothing to link to: the element goes, the text after it stays.
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + (element.tail or "")
        else:
            parent.text = (parent.text or "") + (element.tail or "")
        parent.remove(element)
        return
    paragraph = lxml.etree.Element("p")
    link = lxml.etree.SubElement(paragraph, "a", href=href)
    link.text = one_line(element.get("title", "")) or href
    paragraph.tail = element.tail
    parent.replace(element, paragraph)


def html_text(text: str) -> str:
    """Plain text as HTML (escaped), for fields readers treat as HTML."""
    return html.escape(text, quote=False)
