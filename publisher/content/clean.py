"""Text and HTML from posts made safe for readers: the one place feeds and emails clean them.

Feed readers (and the W3C Feed Validator) refuse or warn on what browsers forgive, and
mail clients on what feed readers forgive: control characters, line breaks in one-line
fields (a header), `<script>`/`<style>`, event-handler attributes, comments (which may
hold `--`), relative or non-ASCII URLs. `safe_text` and `one_line` clean text,
`clean_html` a body or feature text; URLs are made absolute by `content.urls`. Each runs
once per post, not per feed or per message.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

import lxml.etree

from publisher.content.urls import absolute_url

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
# What XML 1.0 cannot hold at all: a character reference in the HTML ('&#1;') brings it
# back after safe_text, once the parser has decoded it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# What a feed may carry: the validator's list of acceptable HTML elements.
_ALLOWED_WORDS = (
    "a abbr acronym address area article aside audio b bdi big blockquote br button canvas "
    "caption center cite code col colgroup data dd del details dfn dir div dl dt em "
    "fieldset figcaption figure footer font form header h1 h2 h3 h4 h5 h6 hgroup hr i img "
    "input ins kbd label legend li main map mark menu meter nav noscript ol optgroup option "
    "output p picture pre progress q rp rt ruby s samp section select small source span "
    "strike strong sub summary sup table tbody td textarea tfoot th thead time tr track tt u "
    "ul var video wbr"
)
_ALLOWED = frozenset(_ALLOWED_WORDS.split())
# Removed with everything inside them: code, page furniture, and markup a reader can't show.
_DROPPED = (
    "script", "style", "head", "title", "meta", "link", "base", "applet", "frame",
    "frameset", "noframes", "xmp", "plaintext", "template", "svg", "math",
)  # fmt: skip
# Embedded players become a plain link to what they embedded.
_EMBEDS = {"iframe": "src", "embed": "src", "object": "data"}
_URL_ATTRS = ("href", "src", "poster", "cite", "action", "formaction", "background", "longdesc")
_UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


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
    """HTML safe for feed content: absolute URLs, no scripts, styles, comments or bad characters.

    `lead_image` is (url, alt) of an image to show first, unless the content already shows it.
    """
    root = _parse(safe_text(fragment))  # comments and processing instructions left out
    lxml.etree.strip_elements(root, *_DROPPED, with_tail=False)
    for element in list(root.iter("iframe", "embed", "object")):
        _replace_embed(element, base_url)
    # One pass over the elements: the tags to unwrap, the attributes to fix, the images.
    unknown: set[str] = set()
    shown: set[str] = set()
    for element in root.iter():
        tag = element.tag
        if tag not in _ALLOWED:
            unknown.add(tag)
        for name in element.keys():  # noqa: SIM118 (an lxml element iterates its children)
            kind = _attribute_kind(name)
            if kind != "keep":
                _clean_attribute(element, name, kind, base_url)
        if tag == "img":
            shown.add(element.get("src", ""))
    if unknown:
        lxml.etree.strip_tags(root, *unknown)
    if lead_image is not None and lead_image[0] not in shown:
        paragraph = lxml.etree.Element("p")
        lxml.etree.SubElement(paragraph, "img", src=lead_image[0], alt=lead_image[1])
        paragraph.tail = "\n" + (root.text or "")
        root.text = None
        root.insert(0, paragraph)
    text: str = lxml.etree.tostring(root, method="html", encoding="unicode")
    if "&#" in fragment:
        text = _NOT_XML.sub("", text)
    # Drop the wrapping <div> and </div>.
    return text[5:-6].strip()


_HTML_PARSER = lxml.etree.HTMLParser(
    remove_blank_text=False,
    # Comments may hold '--' (or anything): never kept, so never built.
    remove_comments=True,
    remove_pis=True,
    no_network=True,
    huge_tree=True,
)


def _parse(fragment: str) -> Any:
    """The fragment inside a <div> (plain lxml.etree elements: lxml.html's are slower)."""
    doc = lxml.etree.fromstring(f"<div>{fragment}</div>", _HTML_PARSER)
    body = doc.find("body")
    assert body is not None
    root = body[0]
    # An unbalanced </div> in the post closes ours early: take back what follows, the text
    # right after it first (left as our <div>'s tail, it would be cut off with the </div>).
    if root.tail:
        if len(root):
            root[-1].tail = (root[-1].tail or "") + root.tail
        else:
            root.text = (root.text or "") + root.tail
        root.tail = None
    for extra in list(body)[1:]:
        root.append(extra)
    return root


@cache
def _attribute_kind(name: str) -> str:
    """'url', 'srcset', 'drop' or 'keep': decided once per attribute name."""
    lower = name.lower()
    if lower in _URL_ATTRS:
        return "url"
    if lower == "srcset":
        return "srcset"
    # Event handlers, inline styles, namespaced attributes: never safe in a reader.
    if lower.startswith(("on", "xmlns")) or lower == "style" or ":" in name:
        return "drop"
    return "keep"


def _clean_attribute(element: Any, name: str, kind: str, base_url: str) -> None:
    attrib = element.attrib
    if kind == "drop":
        del attrib[name]
    elif kind == "srcset":
        attrib[name] = _srcset(attrib[name], base_url)
    else:
        value = safe_text(attrib[name]).strip()
        if value.lower().replace(" ", "").startswith(_UNSAFE_SCHEMES):
            del attrib[name]
        else:
            attrib[name] = absolute_url(value, base_url)


def _srcset(value: str, base_url: str) -> str:
    candidates = []
    for candidate in value.split(","):
        parts = candidate.split(None, 1)
        if parts:
            parts[0] = absolute_url(parts[0], base_url)
            candidates.append(" ".join(parts))
    return ", ".join(candidates)


def _replace_embed(element: Any, base_url: str) -> None:
    """An embedded player becomes a paragraph linking to what it played."""
    parent = element.getparent()
    url = element.get(_EMBEDS[element.tag], "").strip()
    if not url or url.lower().startswith(_UNSAFE_SCHEMES):
        # Nothing to link to: the element goes, the text after it stays.
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + (element.tail or "")
        else:
            parent.text = (parent.text or "") + (element.tail or "")
        parent.remove(element)
        return
    href = absolute_url(url, base_url)
    paragraph = lxml.etree.Element("p")
    link = lxml.etree.SubElement(paragraph, "a", href=href)
    link.text = one_line(element.get("title", "")) or href
    paragraph.tail = element.tail
    parent.replace(element, paragraph)


def html_text(text: str) -> str:
    """Plain text as HTML (escaped), for fields readers treat as HTML."""
    return html.escape(text, quote=False)
