"""Front matter values read into a post's fields: text, word lists, image, author, links.

YAML gives any value any type: a list where a title belongs, a table where a word
belongs, a number, a date, bytes. Each reader here takes what the field may hold and
reports the rest through `problem(key, message)`, so no value, however malformed, stops
the indexer. Every URL goes through `urls.web_url`, the one gate: only web links reach
readers.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

from publisher.content.html import collapse_whitespace
from publisher.content.post import Author, Image
from publisher.content.urls import NotAWebLink, iri_to_uri, is_plain_path, site_url, web_url
from publisher.errors import shown

Report = Callable[[str, str], None]
"""problem(key, message): one thing wrong with the value of a front matter key."""

_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}
# What a text field may hold besides text: YAML reads `title: 1984` as a number and
# `title: 2024-06-19` as a date, and Jekyll prints them as written.
_SCALARS = (str, int, float, date)


# A yes or no as people write it (YAML 1.1 reads the unquoted words as true and false).
_YES = frozenset({"true", "yes", "on", "1"})
_NO = frozenset({"false", "no", "off", "0"})


def flag(value: Any) -> bool | None:
    """A yes/no field's value: true, yes, on, 1 (any case, quoted or not) or their opposites
    false, no, off, 0; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def unclear_publication(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(key, message) when `draft` or `published` is set to something neither yes nor no:
    such a post is held back (publishing a draft cannot be taken back)."""
    for key in ("draft", "published"):
        value = meta.get(key)
        if value is not None and flag(value) is None:
            return key, (
                f"'{key}' must be true or false (or yes/no, on/off, 1/0), got {shown(value)}: "
                "the post is held back until it says which; fix it"
            )
    return None


def text(value: Any, key: str, problem: Report) -> str:
    """A text field's value as text ('' for none); a list, table or bytes is a problem."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, _SCALARS):  # bool is an int
        return value.isoformat() if isinstance(value, date) else str(value)
    problem(key, f"'{key}' must be text, got {shown(value)}: write it as one line of text")
    return ""


def words(meta: dict[str, Any], plural: str, single: str, problem: Report) -> tuple[str, ...]:
    """A list, a single value, or a space-separated string (Jekyll reads 'a b' as two)."""
    value = meta.get(plural)
    if value is None:
        value = meta.get(single)
        plural = single
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split()
    elif isinstance(value, list) and all(v is None or isinstance(v, _SCALARS) for v in value):
        items = [t for v in value if v is not None and (t := text(v, plural, problem).strip())]
    elif isinstance(value, int | float):
        items = [str(value)]
    else:
        problem(
            plural,
            f"'{plural}' must be a list of words or a space-separated string, got "
            f"{shown(value)}: write it as [News, 정치] or 'News 정치'",
        )
        return ()
    return tuple(dict.fromkeys(items))


def image(value: Any, site: str, problem: Report) -> Image | None:
    """The post's image: a URL, or {path or url, alt, length}; None when there is none or
    it cannot be used (a problem says why: the post goes out without it)."""
    alt = ""
    length = None
    if isinstance(value, dict):
        alt = text(value.get("alt"), "image", problem)
        length = value.get("length")
        if length is not None and (
            not isinstance(length, int) or isinstance(length, bool) or length < 0
        ):
            problem("image", f"'image' length must be a number of bytes, got {shown(length)}")
            length = None
        value = value.get("path") or value.get("url")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        problem(
            "image",
            f"'image' must be a URL or {{path: URL, alt: ..., length: bytes}}, got {shown(value)}",
        )
        return None
    try:
        url = _site_link(value, site)
    except NotAWebLink as e:
        problem("image", f"'image': {e}: the post goes out without an image; fix its URL")
        return None
    path = url.split("?", 1)[0].split("#", 1)[0]
    ext = os.path.splitext(path)[1].lower()
    mime = _MIME.get(ext) or mimetypes.guess_type(path)[0] or "image/jpeg"
    return Image(url=url, mime_type=mime, length=length, alt=alt)


def _plain(value: str) -> bool:
    """Whether `value` is a path for `site_url` (no scheme, not protocol-relative)."""
    head = value.strip()
    return not head.startswith("//") and ":" not in head.partition("/")[0]


def _site_link(path: str, site: str) -> str:
    """`path` under the site as a web link: at once for a plain path (the site's own URL
    and nothing to resolve), else through the gate."""
    if is_plain_path(path):
        return site_url(path, site)
    return web_url(site_url(path, site) if _plain(path) else path, site, strict=True)


def author(
    value: Any, authors: dict[str, Author], default: Author, site: str, problem: Report
) -> Author:
    """A name, a key of the authors file, or {name, email, uri}; `default` when absent."""
    if value in (None, ""):
        return default
    if isinstance(value, str):
        return authors.get(value) or Author(name=collapse_whitespace(value))
    found = author_from_table(value, site, lambda message: problem("author", message))
    if found is not None:
        return found
    problem(
        "author",
        f"'author' must be a name, a key of the authors file or {{name: ...}}, got {shown(value)}",
    )
    return default


def author_from_table(value: Any, site: str, problem: Callable[[str], None]) -> Author | None:
    """`{name, email, uri}` (or `url`) as an Author; None when it is not such a table. A
    `uri` that is not a web link is left out (and reported)."""
    if not (isinstance(value, dict) and value.get("name")):
        return None
    name, email, uri = (
        value["name"],
        value.get("email") or "",
        value.get("uri") or value.get("url") or "",
    )
    if not all(isinstance(v, _SCALARS) for v in (name, email, uri)):
        problem(f"the author's name, email and uri must be text, got {shown(value)}")
        return None
    if uri:
        try:
            uri = web_url(str(uri), site, strict=True)
        except NotAWebLink as e:
            problem(f"the author's uri: {e}: it is left out; fix it")
            uri = ""
    return Author(name=collapse_whitespace(str(name)), email=str(email), uri=uri)


def post_url(path: str, site: str) -> str:
    """The post's URL from a `permalink` (a path, or an absolute URL on the site);
    NotAWebLink saying why when it is not a web link or leaves the site."""
    url = _site_link(path, site)
    if not on_site(url, site):
        raise NotAWebLink(f"{shown(path)} leaves the site ({site})")
    return url


@cache
def _site_uri(site: str) -> str:
    return iri_to_uri(site)


def on_site(url: str, site: str) -> bool:
    """Whether `url` (resolved) is under `site`: the same host, under its base path."""
    rest = url.partition("://")[2]
    site_rest = _site_uri(site).partition("://")[2]
    host, slash, path = rest.partition("/")
    site_host, _, site_path = site_rest.partition("/")
    return host.lower() == site_host.lower() and (slash + path).startswith("/" + site_path)
