"""Post URLs: Jekyll permalink patterns, absolute URLs against the site, percent-encoding."""

from __future__ import annotations

import re
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
    out = []
    for part in _split_pattern(PERMALINK_STYLES.get(pattern, pattern)):
        if part[0] != ":":
            out.append(part)
        elif part == ":categories":
            out.append("/".join(dict.fromkeys(_category_slug(c) for c in categories)))
        elif part in (":title", ":slug"):
            out.append(title_slug if part == ":title" else slug)
        else:
            out.append(_date_part(part[1:], date))
    path = "".join(out)
    return "/" + path.lstrip("/") if "//" not in path else re.sub(r"/{2,}", "/", "/" + path)


def _date_part(name: str, date: datetime) -> str:
    if name in _NUMERIC:
        value: int = getattr(date, name)
        return f"{value:04d}" if name == "year" else f"{value:02d}"
    if name in _STRFTIME:
        return date.strftime(_STRFTIME[name])
    if name == "short_year":
        return f"{date.year % 100:02d}"
    if name in ("i_month", "i_day"):
        return str(date.month if name == "i_month" else date.day)
    if name == "y_day":
        return f"{date.timetuple().tm_yday:03d}"
    if name == "week":
        return f"{date.isocalendar().week:02d}"
    return ".html"  # :output_ext


_NUMERIC = frozenset({"year", "month", "day", "hour", "minute", "second"})
_STRFTIME = {"short_month": "%b", "long_month": "%B", "short_day": "%a", "long_day": "%A"}


@cache
def _category_slug(category: str) -> str:
    # Jekyll lower-cases categories in URLs; percent-encoded here, once per category, so
    # the path is usually plain ASCII by the time the whole URL is encoded.
    return iri_to_uri(slugify(category, cased=False))


@cache
def _split_pattern(pattern: str) -> tuple[str, ...]:
    """'/:year/:title/' -> ('/', ':year', '/', ':title', '/'), once per pattern."""
    return tuple(p for p in _PLACEHOLDER_SPLIT.split(pattern) if p)
