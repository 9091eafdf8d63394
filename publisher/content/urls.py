"""Post URLs: Jekyll permalink patterns, absolute URLs against the site, percent-encoding."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from publisher.errors import shown

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
# Only what a URI may hold as it is (RFC 3986): anything else is percent-encoded.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_NOT_SLUG = re.compile(r"[^\w._~!$&'()+,;=@-]+")
_HYPHENS = re.compile(r"-{2,}")
# A path with nothing for urljoin to resolve: no scheme, no '//' start, no dot segments,
# no query or fragment.
_PLAIN_PATH = re.compile(r"^/?(?![/.])(?!.*/\.)(?!.*[?#:])")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# What no URL may hold, however written: C0 and C1 controls, and the characters XML forbids.
_NOT_IN_URL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ue000\ue001\ufffd\ufffe\uffff]")


def iri_to_uri(url: str) -> str:
    """Percent-encode what a URI may not hold (non-ASCII, spaces), IDNA the host; escapes stay.

    Characters no URL may hold (controls, see `_NOT_IN_URL`) are dropped and the ends
    trimmed. Never raises: a URL whose host cannot be parsed or IDNA-encoded
    ('https://한국..kr/', 'https://[::1/x') is percent-encoded whole, so one broken link
    costs no build.
    """
    if _NOT_IN_URL.search(url):
        url = _NOT_IN_URL.sub("", url).strip()
    if _URI_CHARS.fullmatch(url) and "%" not in url.partition("//")[2].partition("/")[0]:
        return url
    try:
        return _split_to_uri(url)
    except (UnicodeError, ValueError):
        return quote(url, safe=_SAFE)


def _split_to_uri(url: str) -> str:
    parts = urlsplit(url)
    # A host may arrive percent-encoded by an earlier step; IDNA is its only right form.
    netloc = unquote(parts.netloc) if "%" in parts.netloc else parts.netloc
    if not netloc.isascii():
        userinfo, at, host = netloc.rpartition("@")
        hostname, colon, port = host.partition(":")
        netloc = f"{userinfo}{at}{hostname.encode('idna').decode('ascii')}{colon}{port}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_SAFE),
            quote(parts.query, safe=_SAFE),
            quote(parts.fragment, safe=_SAFE),
        )
    )


def absolute_url(url: str, base: str) -> str:
    """`url` made absolute against `base` and percent-encoded (`iri_to_uri`); protocol-relative
    URLs get https."""
    if _NOT_IN_URL.search(url):
        url = _NOT_IN_URL.sub("", url)
    url = url.strip()
    if not url:
        return url
    if url.startswith("//"):
        return iri_to_uri("https:" + url)
    if _SCHEME.match(url):
        return iri_to_uri(url)
    try:
        joined = urljoin(base, url)
    except ValueError:  # a host urljoin cannot parse ('//[::1/x'): left as written
        joined = url
    return iri_to_uri(joined)


class NotAWebLink(ValueError):
    """A URL that must not reach a reader, or that cannot be parsed; the message says why."""


_WEB = ("http://", "https://")
# The usual web link, plainly well formed: no need to take it apart.
# (Only characters a URI may hold as they are: '"', '<', '>', '\\', '^', '`', '{', '|', '}'
# take the long way, and are percent-encoded there.)
_PLAIN_WEB = re.compile(
    r"https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"  # a port is checked: not here
    r"(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
)
_ENTITY_OR_SPACE = re.compile(r"[&\s]")
_ALL_SPACE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def web_url(value: str, base: str, *, mailto: bool = False, strict: bool = False) -> str:
    """The one gate for URLs that come from posts: `value` resolved against `base` (made
    absolute and percent-encoded, as `absolute_url` does) when it is an http or https link
    (or, with `mailto`, a mailto: address); NotAWebLink saying why otherwise.

    However the scheme is disguised (entities, control characters or spaces inside it,
    upper case), only those schemes pass. `strict` also refuses what cannot be parsed as
    a URL with a host (an empty or unencodable host name, an open IPv6 bracket, a port
    that is not a number): fields such as a post's image, which feeds carry as a URL of
    their own, must be well formed.
    """
    if _PLAIN_WEB.fullmatch(value):
        return value  # the usual link: all the steps below would give it back as it is
    text = _NOT_IN_URL.sub("", value).strip() if _NOT_IN_URL.search(value) else value.strip()
    if not text.startswith(_WEB) or _ENTITY_OR_SPACE.search(text):
        scheme = _scheme_as_read(text)
        if scheme and scheme not in ("http", "https") and not (mailto and scheme == "mailto"):
            raise NotAWebLink(f"{scheme}: links are not web links")
    resolved = absolute_url(text, base)
    scheme, colon, rest = resolved.partition(":")
    scheme = scheme.lower()
    if mailto and scheme == "mailto" and colon:
        return "mailto:" + rest
    if scheme not in ("http", "https") or not rest.startswith("//"):
        raise NotAWebLink(f"{shown(value)} is not an http or https link")
    resolved = scheme + ":" + rest
    if "\\" in resolved:
        raise NotAWebLink(
            f"{shown(value)} holds a backslash, which some readers take as '/' and others "
            "do not (another host for some): write '/', or %5C for a backslash"
        )
    if strict:
        _check_parses(resolved, value)
    else:
        _check_port(resolved, value)
    return resolved


def _check_port(url: str, value: str) -> None:
    """NotAWebLink when `url` names a port that is not one (0, past 65535, not digits)."""
    try:
        port = urlsplit(url).port
    except ValueError as e:
        if "port" in str(e).lower():
            raise NotAWebLink(f"{shown(value)} names a port that is not one ({e})") from e
        return  # not about the port (an unclosed IPv6 bracket): the strict check's to say
    if port == 0:
        raise NotAWebLink(f"{shown(value)} names a port that is not one (0)")


def _scheme_as_read(text: str) -> str:
    """The scheme a browser or a lenient reader could find in `text`: entities decoded
    (again and again), spaces and control characters dropped, lower case; '' for none."""
    probe = text
    for _ in range(4):
        decoded = html.unescape(probe)
        if decoded == probe:
            break
        probe = decoded
    probe = _ALL_SPACE.sub("", probe).lower()
    match = _SCHEME.match(probe)
    return match[0][:-1] if match else ""


def _check_parses(url: str, value: str) -> None:
    """NotAWebLink unless `url` parses with a plain ASCII host and a numeric port."""
    if _PLAIN_WEB.fullmatch(url):
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as e:
        raise NotAWebLink(f"{shown(value)} cannot be read as a URL ({e})") from e
    _check_port(url, value)
    host = parts.hostname or ""
    if not host or "%" in host or not host.isascii() or ".." in host or " " in host:
        raise NotAWebLink(f"{shown(value)} has no usable host name")


def is_plain_path(path: str) -> bool:
    """Whether `site_url` puts `path` under the site as it is: a path with nothing to
    resolve (no scheme, no '//' start, no dot segment, query or fragment) and no character
    a URL may not hold."""
    return _PLAIN_PATH.match(path.strip()) is not None and not _NOT_IN_URL.search(path)


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


def slugify(text: str, *, cased: bool = True) -> str:
    """Jekyll's 'pretty' slugify (URL-safe punctuation kept), lower-cased unless `cased`."""
    slug = _NOT_SLUG.sub("-", text).strip("-")
    if "--" in slug:
        slug = _HYPHENS.sub("-", slug)
    return slug if cased else slug.lower()


def has_placeholder(pattern: str) -> bool:
    """Whether a permalink holds a Jekyll placeholder (':year', ':title'...)."""
    return _PLACEHOLDER_SPLIT.search(pattern) is not None


def expand_permalink(
    pattern: str,
    *,
    date: datetime,
    categories: tuple[str, ...],
    slug: str,
    jekyll: bool = False,
) -> str:
    """A Jekyll permalink pattern (or style name) filled in for one post: a site-relative path.

    With `jekyll` (a Jekyll site's posts), `slug` is the name as written and every
    placeholder is filled exactly as Jekyll 4 does: `:title` slugified in its 'pretty' mode,
    `:slug` in its default mode (lower case), `:categories` lower-cased only.
    """
    template, names = _compile(pattern)
    values = []
    for name in names:
        if name == "categories":
            slugged = (_jekyll_category(c) if jekyll else _category_slug(c) for c in categories)
            values.append("/".join(dict.fromkeys(slugged)))
        elif name in ("title", "slug") and jekyll:
            values.append(iri_to_uri(jekyll_slugify(slug, pretty=name == "title")))
        elif name in ("title", "slug"):
            values.append(slug)
        else:
            values.append(_DATE_PARTS[name](date))
    path = template.format(*values)
    return "/" + path.lstrip("/") if "//" not in path else re.sub(r"/{2,}", "/", "/" + path)


# Each date placeholder, from the post's date in the site's time zone.
_DATE_PARTS: dict[str, Callable[[datetime], str]] = {
    "year": lambda d: f"{d.year:04d}",
    "month": lambda d: f"{d.month:02d}",
    "day": lambda d: f"{d.day:02d}",
    "hour": lambda d: f"{d.hour:02d}",
    "minute": lambda d: f"{d.minute:02d}",
    "second": lambda d: f"{d.second:02d}",
    "short_year": lambda d: f"{d.year % 100:02d}",
    "i_month": lambda d: str(d.month),
    "i_day": lambda d: str(d.day),
    "short_month": lambda d: d.strftime("%b"),
    "long_month": lambda d: d.strftime("%B"),
    "short_day": lambda d: d.strftime("%a"),
    "long_day": lambda d: d.strftime("%A"),
    "y_day": lambda d: f"{d.timetuple().tm_yday:03d}",
    "week": lambda d: f"{d.isocalendar().week:02d}",
    "output_ext": lambda d: ".html",
}


@cache
def _compile(pattern: str) -> tuple[str, tuple[str, ...]]:
    """'/:year/:title/' -> ('/{}/{}/', ('year', 'title')), once per pattern."""
    parts = _PLACEHOLDER_SPLIT.split(PERMALINK_STYLES.get(pattern, pattern))
    literal = [p.replace("{", "{{").replace("}", "}}") for p in parts[0::2]]
    names = tuple(p[1:] for p in parts[1::2])
    return "{}".join(literal), names


@cache
def _jekyll_category(category: str) -> str:
    # Jekyll's UrlDrop#categories: lower-cased, nothing else; its URL escapes the rest.
    return iri_to_uri(category.lower())


# Jekyll's Utils.slugify: 'pretty' keeps letters, digits and ._~!$&'()+,;=@; 'default' keeps
# letters and digits. Any other run (an underscore too) becomes one hyphen.
_JEKYLL_PRETTY = re.compile(r"(?:[^\w._~!$&'()+,;=@]|_)+")
_JEKYLL_DEFAULT = re.compile(r"(?:\W|_)+")


def jekyll_slugify(text: str, *, pretty: bool) -> str:
    """Jekyll's slugify in its 'pretty' mode (case kept) or its default one (lower case)."""
    if pretty:
        return _JEKYLL_PRETTY.sub("-", text).strip("-")
    return _JEKYLL_DEFAULT.sub("-", text).strip("-").lower()


@cache
def _category_slug(category: str) -> str:
    # Jekyll lower-cases categories in URLs; percent-encoded here, once per category, so
    # the path is usually plain ASCII by the time the whole URL is encoded.
    return iri_to_uri(slugify(category, cased=False))
