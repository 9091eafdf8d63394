"""Bodies to HTML, HTML to plain text, and the excerpt cut from a body."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

import lxml.etree
import lxml.html

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# A paragraph's start tag up to its name, and its end tag (found in turn, not by one
# pattern: `<p>(.*?)</p>` tried at every '<p' of an unclosed body takes time that grows with
# the square of its length).
_PARAGRAPH_OPEN = re.compile(r"<p\b", re.IGNORECASE)
_PARAGRAPH_CLOSE = re.compile(r"</p\s*>", re.IGNORECASE)


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt  # loaded when a body or feature text needs it

    # CommonMark with raw HTML passed through (bodies are often HTML), plus GFM tables.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def markdown_to_html(text: str) -> str:
    """Render Markdown (raw HTML passed through) to HTML."""
    rendered: str = _markdown().render(text)
    return rendered


def html_to_text(fragment: str) -> str:
    """Plain text of HTML: tags, scripts and styles gone, entities decoded, spaces collapsed."""
    if "<" not in fragment and "&" not in fragment:
        return collapse_whitespace(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return collapse_whitespace(html.unescape(re.sub(r"<[^>]*>", " ", fragment)))
    lxml.etree.strip_elements(root, "script", "style", lxml.etree.Comment, with_tail=False)
    # Block boundaries become spaces, so "<p>a</p><p>b</p>" reads "a b", not "ab".
    for element in root.iter("p", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "td"):
        element.tail = " " + (element.tail or "")
    return collapse_whitespace(root.text_content())


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (newlines included) become one space; ends trimmed."""
    return " ".join(text.split())


def first_paragraph_text(body_html: str) -> str:
    """The plain text of the first <p> that has any text, else of the whole fragment."""
    for inner in _paragraphs(body_html):
        text = html_to_text(inner)
        if text:
            return text
    return html_to_text(body_html)


def _paragraphs(body_html: str) -> Iterator[str]:
    """What each <p ...>...</p> of `body_html` holds, in order, in one pass: the text from
    the '>' ending a start tag to the next end tag."""
    pos = 0
    while (start := _PARAGRAPH_OPEN.search(body_html, pos)) is not None:
        opened = body_html.find(">", start.end())
        if opened == -1:
            return  # no start tag after this one ends either
        close = _PARAGRAPH_CLOSE.search(body_html, opened + 1)
        if close is None:
            return  # nor does any later paragraph
        yield body_html[opened + 1 : close.start()]
        pos = close.end()


def truncate_words(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters on a word boundary, adding an ellipsis."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:·") + "…"
