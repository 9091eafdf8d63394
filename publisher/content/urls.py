"""Post URLs: Jekyll permalink patterns, absolute URLs against the site, percent-encoding."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from urllib.parse import quote, urljoin, urlsplit

# Jekyll's built-in permalink styles.
PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
_PLACEHOLDER_SPLIT = re.compile(
    r"(:(?:categories|year|short_year|month|i_month|short_month|long_month|day|"
    r"i_day|y_day|short_day|long_day|week|hour|minute|second|title|slug|"
    r"output_ext))"
)
# Characters left as they are in a URL; everything else (non-ASCII first) is percent-encoded.
_SAFE = "/:@!$&'()*+,;=-._~%?#[]"
_NOT_SLUG = re.compile(r"[^\w._~!$&'()+,;=@-]+")
_NOT_DEFAULT_SLUG = re.compile(r"[^\w]+")
# A path with nothing for urljoin to resolve: no scheme, no '//' start, no dot segments,
# no query or fragment.
_PLAIN_PATH = re.compile(r"^/?(?![/.])(?!.*/\.)(?!.*[?#:])")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def iri_to_uri(url: str) -> str:
    """Percent-encode what a URI may not hold (non-ASCII, spaces); existing escapes stay."""
    if url.isascii() and " " not in url:
        return url
    return quote(url, safe=_SAFE)


def absolute_url(url: str, base: str) -> str:
    """`url` made absolute against `base`; protocol-relative URLs get https; other schemes stay."""
    url = url.strip()
    if not url:
        return url
    if url.startswith("//"):
        return iri_to_uri("https:" + url)
    if _SCHEME.match(url):
        return iri_to_uri(url) if url[:5].lower() in ("http:", "https") else url
    return iri_to_uri(urljoin(base, url))


def site_url(path: str, site: str) -> str:
    """A site-relative path ('/assets/x.jpg' or 'assets/x.jpg') under the site URL and base path."""
    path = path.strip()
    base_path = _base_path(site)
    if base_path != "/" and path.startswith(base_path):
        path = path[len(base_path) :]
    if _PLAIN_PATH.match(path):
        return site + iri_to_uri(path.lstrip("/"))  # the common case, without urljoin's cost
    if path.startswith("//") or _SCHEME.match(path):
        return absolute_url(path, site)
    return absolute_url(path.lstrip("/"), site)


@cache
def _base_path(site: str) -> str:
    return urlsplit(site).path


def slugify(text: str, *, mode: str = "pretty", cased: bool = True) -> str:
    """Jekyll's slugify: 'pretty' keeps URL-safe punctuation, 'default' only letters and digits."""
    pattern = _NOT_SLUG if mode == "pretty" else _NOT_DEFAULT_SLUG
    slug = pattern.sub("-", text).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)
    return slug if cased else slug.lower()


def expand_permalink(
    pattern: str,
    *,
    date: datetime,
    categories: tuple[str, ...],
    title_slug: str,
    slug: str,
) -> str:
    """A Jekyll permalink pattern (or style name) filled in for one post: a site-relative path."""
    values: dict[str, Callable[[], str]] = {
        "categories": lambda: "/".join(dict.fromkeys(slugify(c, cased=False) for c in categories)),
        "year": lambda: f"{date.year:04d}",
        "short_year": lambda: f"{date.year % 100:02d}",
        "month": lambda: f"{date.month:02d}",
        "i_month": lambda: str(date.month),
        "short_month": lambda: date.strftime("%b"),
        "long_month": lambda: date.strftime("%B"),
        "day": lambda: f"{date.day:02d}",
        "i_day": lambda: str(date.day),
        "y_day": lambda: f"{date.timetuple().tm_yday:03d}",
        "short_day": lambda: date.strftime("%a"),
        "long_day": lambda: date.strftime("%A"),
        "week": lambda: f"{date.isocalendar().week:02d}",
        "hour": lambda: f"{date.hour:02d}",
        "minute": lambda: f"{date.minute:02d}",
        "second": lambda: f"{date.second:02d}",
        "title": lambda: title_slug,
        "slug": lambda: slug,
        "output_ext": lambda: ".html",
    }
    parts = _split_pattern(PERMALINK_STYLES.get(pattern, pattern))
    path = "".join(values[part[1:]]() if part.startswith(":") else part for part in parts)
    return "/" + path.lstrip("/") if "//" not in path else re.sub(r"/{2,}", "/", "/" + path)


@cache
def _split_pattern(pattern: str) -> tuple[str, ...]:
    """'/:year/:title/' -> ('/', ':year', '/', ':title', '/'), once per pattern."""
    return tuple(p for p in _PLACEHOLDER_SPLIT.split(pattern) if p)
