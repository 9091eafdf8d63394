"""Settle one file's front matter and body into a `Post`: title, date, URL, excerpt, image..."""

from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from publisher.config import Config
from publisher.content.dates import DateValueError, split_filename_date, to_datetime
from publisher.content.html import (
    collapse_whitespace,
    first_paragraph_text,
    html_to_text,
    markdown_to_html,
    truncate_words,
)
from publisher.content.jekyll import Liquid
from publisher.content.post import Author, Body, BodyFormat, DateSource, Details, Image, Post
from publisher.content.source import RawPost, SourceFile, SourceProblem, read_post
from publisher.content.urls import expand_permalink, has_placeholder, site_url, slugify
from publisher.errors import Problem

# What makes a front matter excerpt worth rendering as Markdown/HTML first: a markup
# character, or a line starting a list or a quote. (Two searches: one alternation of all
# three is twice as slow, and every cold index runs it on every excerpt.)
_MARKUP_CHARS = re.compile(r"[<&*_`\[#]")
_MARKUP_LINES = re.compile(r"^\s*(?:[-+>]|\d+\.)", re.MULTILINE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class SettleContext:
    """What settling needs from the config, computed once per run."""

    site_url: str
    tz: ZoneInfo
    permalink: str
    excerpt_length: int
    default_author: Author
    authors: dict[str, Author] = field(default_factory=dict)
    jekyll: bool = False  # a Jekyll site's posts: URLs slugified as Jekyll does
    liquid: Liquid | None = None  # a Jekyll site's: Liquid in posts is rendered


class PostProblems(Exception):
    """Everything wrong with one post: (line, message) pairs."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def is_unpublished(meta: dict[str, Any]) -> bool:
    """`draft: true` or `published: false`."""
    return meta.get("draft") is True or meta.get("published") is False


def settle(
    raw: RawPost,
    source: SourceFile,
    ctx: SettleContext,
    *,
    first_seen: datetime,
    stored_id: str | None,
    notes: list[tuple[int, str]] | None = None,
) -> Post:
    """A complete Post from one file; every problem with it raised together in PostProblems.
    `notes` receives what its Liquid held that is left out (line, message)."""
    meta = raw.meta
    problems: list[tuple[int, str]] = []
    liquid = ctx.liquid if meta.get("render_with_liquid") is not False else None
    if liquid is not None:
        meta = _render_front(raw, liquid, notes)

    def problem(key: str, message: str) -> None:
        problems.append((raw.line_of(key), message))

    stem, suffix = os.path.splitext(os.path.basename(source.rel))
    file_date, title_slug = split_filename_date(stem)

    title_html = collapse_whitespace(str(meta.get("title") or ""))
    title = html_to_text(title_html) if "<" in title_html or "&" in title_html else title_html
    if not title:
        # Jekyll: 2014-03-02-march-the-second.md -> "March The Second"
        title = " ".join(w.capitalize() for w in title_slug.replace("_", " ").split("-") if w)
        title_html = title

    date, date_source = _settle_date(meta, file_date, first_seen, ctx.tz, problem)
    updated = date
    for key in ("last_modified_at", "updated", "modified"):
        if meta.get(key) is not None:
            try:
                updated = max(date, to_datetime(meta[key], ctx.tz))
            except DateValueError as e:
                problem(key, f"'{key}': {e}")
            break

    categories = _words(meta, "categories", "category", problem)
    tags = _words(meta, "tags", "tag", problem)

    body = raw.body
    body_format: BodyFormat = _body_format(suffix.lower(), body)
    has_liquid = liquid is not None and ("{{" in body or "{%" in body)
    if has_liquid:
        assert liquid is not None
        first_line = raw.front.count("\n") + 2  # after the closing '---'
        body, found = liquid.render(body, html_body=body_format == "html", line=first_line)
        if notes is not None:
            notes.extend(found)
    excerpt = _excerpt(meta, body, body_format, ctx.excerpt_length)

    feature_source = meta.get("feature_text")

    image = _image(meta.get("image"), ctx.site_url, problem)
    author = _author(meta.get("author"), ctx, problem)

    permalink = meta.get("permalink")
    if permalink is not None and not isinstance(permalink, str):
        problem("permalink", f"'permalink' must be a path such as '/news/x/', got {permalink!r}")
        permalink = None
    if permalink and not has_placeholder(permalink):
        url = site_url(permalink, ctx.site_url)
    else:
        name = str(meta.get("slug") or title_slug)
        # On a Jekyll site the name is slugified as Jekyll does, placeholder by placeholder.
        jekyll = ctx.jekyll
        slug = name if jekyll else slugify(name)
        local = date.astimezone(ctx.tz)
        # A front matter permalink may hold placeholders too, as in Jekyll.
        pattern = permalink or ctx.permalink
        path = expand_permalink(
            pattern, date=local, categories=categories, slug=slug, jekyll=jekyll
        )
        url = site_url(path, ctx.site_url)

    front_id = meta.get("id")
    post_id = site_url(str(front_id), ctx.site_url) if front_id not in (None, "") else stored_id

    feed_options = meta.get("feed")
    excerpt_only = isinstance(feed_options, dict) and feed_options.get("excerpt_only") is True

    if problems:
        raise PostProblems(problems)
    return Post(
        source=source.rel,
        id=post_id or url,
        url=url,
        date=date.astimezone(UTC),
        date_source=date_source,
        updated=updated.astimezone(UTC),
        categories=categories,
        details=Details(
            title=title,
            title_html=title_html,
            tags=tags,
            excerpt=excerpt,
            feature_source=str(feature_source or ""),
            image=image,
            author=author,
            body=Body(body_format, path=source.path, liquid=liquid if has_liquid else None),
        ),
        excerpt_only=excerpt_only,
    )


_LIQUID_KEYS = ("excerpt", "description", "summary", "feature_text")


def _render_front(
    raw: RawPost, liquid: Liquid, notes: list[tuple[int, str]] | None
) -> dict[str, Any]:
    """The front matter with Liquid rendered in the texts emails and feeds show."""
    meta = dict(raw.meta)
    for key in _LIQUID_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            meta[key], found = liquid.render(value, line=raw.line_of(key))
            if notes is not None:
                notes.extend(found)
    return meta


def _settle_date(
    meta: dict[str, Any],
    file_date: Any,
    first_seen: datetime,
    tz: ZoneInfo,
    problem: Any,
) -> tuple[datetime, DateSource]:
    if meta.get("date") is not None:
        try:
            return to_datetime(meta["date"], tz), "front matter"
        except DateValueError as e:
            problem("date", f"'date': {e}")
            return first_seen, "first seen"
    if file_date is not None:
        try:
            return to_datetime(file_date, tz), "file name"
        except DateValueError as e:
            problem("", f"file name: {e}")
            return first_seen, "first seen"
    return first_seen, "first seen"


def _words(meta: dict[str, Any], plural: str, single: str, problem: Any) -> tuple[str, ...]:
    """A list, a single value, or a space-separated string (Jekyll reads 'a b' as two)."""
    value = meta.get(plural)
    if value is None:
        value = meta.get(single)
        plural = single
    if value is None:
        return ()
    if isinstance(value, str):
        items = value.split()
    elif isinstance(value, list):
        items = [str(v).strip() for v in value if v is not None and str(v).strip()]
    elif isinstance(value, int | float):
        items = [str(value)]
    else:
        problem(plural, f"'{plural}' must be a list or a space-separated string, got {value!r}")
        return ()
    return tuple(dict.fromkeys(items))


def _body_format(suffix: str, body: str) -> BodyFormat:
    if suffix in (".html", ".htm"):
        return "html"
    if suffix == ".txt" and body.lstrip().startswith("<"):
        return "html"
    return "markdown"


def _excerpt(meta: dict[str, Any], body: str, body_format: BodyFormat, length: int) -> str:
    for key in ("excerpt", "description", "summary"):
        if key in meta and meta[key] is not None:
            # An explicit empty excerpt means none; HTML or Markdown in it is flattened to text.
            text = str(meta[key])
            if _MARKUP_CHARS.search(text) is None and _MARKUP_LINES.search(text) is None:
                return collapse_whitespace(text)
            return html_to_text(markdown_to_html(text))
    body_html = markdown_to_html(body) if body_format == "markdown" else body
    return truncate_words(first_paragraph_text(body_html), length)


def _image(value: Any, site: str, problem: Any) -> Image | None:
    alt = ""
    length = None
    if isinstance(value, dict):
        alt = str(value.get("alt") or "")
        length = value.get("length")
        if length is not None and (not isinstance(length, int) or length < 0):
            problem("image", f"'image' length must be a number of bytes, got {length!r}")
            length = None
        value = value.get("path") or value.get("url")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        problem(
            "image",
            f"'image' must be a URL or {{path: URL, alt: ..., length: bytes}}, got {value!r}",
        )
        return None
    url = site_url(value, site)
    path = url.split("?", 1)[0].split("#", 1)[0]
    ext = os.path.splitext(path)[1].lower()
    mime = _MIME.get(ext) or mimetypes.guess_type(path)[0] or "image/jpeg"
    return Image(url=url, mime_type=mime, length=length, alt=alt)


def _author(value: Any, ctx: SettleContext, problem: Any) -> Author:
    if value in (None, ""):
        return ctx.default_author
    if isinstance(value, str):
        return ctx.authors.get(value) or Author(name=collapse_whitespace(value))
    author = author_from_table(value)
    if author is not None:
        return author
    problem(
        "author",
        f"'author' must be a name, a key of the authors file or {{name: ...}}, got {value!r}",
    )
    return ctx.default_author


def author_from_table(value: Any) -> Author | None:
    """`{name, email, uri}` (or `url`) as an Author; None when it is not such a table."""
    if not (isinstance(value, dict) and value.get("name")):
        return None
    return Author(
        name=collapse_whitespace(str(value["name"])),
        email=str(value.get("email") or ""),
        uri=str(value.get("uri") or value.get("url") or ""),
    )


def settle_context(config: Config) -> tuple[SettleContext, list[Problem]]:
    """What settling needs from the config (the authors file read), and its problems."""
    site = config.site
    authors, problems = _read_authors(config.content.authors_file)
    ctx = SettleContext(
        site_url=site.url,
        tz=site.tz,
        permalink=config.content.permalink,
        excerpt_length=config.content.excerpt_length,
        default_author=Author(name=site.author or site.title, email=site.author_email),
        authors=authors,
    )
    jekyll = config.content.jekyll_config
    if jekyll is not None:
        ctx = replace(ctx, jekyll=True)
        posts_dir = config.content.dir.resolve()
        liquid = Liquid(site.url, jekyll.parent, posts_dir, ctx.permalink, PostUrls(ctx, posts_dir))
        ctx = replace(ctx, liquid=liquid)
    return ctx, problems


class PostUrls:
    """The URL of a post file, settled from the file alone (no store, no Liquid): what
    `{% post_url %}` and `{% link %}` give. Each file is settled once while it is unchanged."""

    def __init__(self, ctx: SettleContext, posts_dir: Path) -> None:
        self.ctx = ctx
        self.posts_dir = posts_dir
        self.known: dict[tuple[str, int, int], str | None] = {}

    def __call__(self, path: Path) -> str | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in self.known:
            self.known[key] = self._settle(path, st.st_size, st.st_mtime_ns)
        return self.known[key]

    def _settle(self, path: Path, size: int, mtime_ns: int) -> str | None:
        try:
            rel = path.resolve().relative_to(self.posts_dir).as_posix()
        except ValueError:
            rel = path.name
        source = SourceFile(rel, str(path), size, mtime_ns)
        try:
            raw = read_post(source)
            if raw is None or is_unpublished(raw.meta):
                return None
            # A date is in every post_url name; the first-seen time is only a stand-in.
            return settle(raw, source, self.ctx, first_seen=_EPOCH, stored_id=None).url
        except (OSError, SourceProblem, PostProblems):
            return None


def _read_authors(path: Path | None) -> tuple[dict[str, Author], list[Problem]]:
    """Jekyll's _data/authors.yml: key -> {name, email, uri}, or key -> name."""
    if path is None:
        return {}, []
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        message = f"cannot read the authors file ({e}): fix it or remove [content] authors_file"
        return {}, [Problem(str(path), message)]
    if not isinstance(data, dict):
        return {}, [Problem(str(path), "the authors file must map keys to {name, email, uri}")]
    authors = {}
    for key, value in data.items():
        author = Author(name=value) if isinstance(value, str) else author_from_table(value)
        if author is not None:
            authors[str(key)] = author
    return authors, []
