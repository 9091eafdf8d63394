"""Settle one file's front matter and body into a `Post`: title, date, URL, excerpt, image..."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from publisher.config import Config
from publisher.config.yamlload import load_yaml
from publisher.content import fields
from publisher.content.dates import DateValueError, split_filename_date, to_datetime
from publisher.content.files import SourceFile
from publisher.content.html import (
    collapse_whitespace,
    first_paragraph_text,
    html_to_text,
    markdown_to_html,
    truncate_words,
)
from publisher.content.jekyll import Liquid
from publisher.content.nesting import MAX_NESTING, too_deep
from publisher.content.post import Author, Body, BodyFormat, DateSource, Details, Post
from publisher.content.source import Limits, RawPost, SourceProblem, read_post
from publisher.content.urls import (
    NotAWebLink,
    expand_permalink,
    has_placeholder,
    site_url,
    slugify,
)
from publisher.errors import Problem, shown

# What makes a front matter excerpt worth rendering as Markdown/HTML first: a markup
# character, or a line starting a list or a quote. (Two searches: one alternation of all
# three is twice as slow, and every cold index runs it on every excerpt.)
_MARKUP_CHARS = re.compile(r"[<&*_`\[#]")
_MARKUP_LINES = re.compile(r"^\s*(?:[-+>]|\d+\.)", re.MULTILINE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SettleContext:
    """What settling needs from the config, computed once per run."""

    site_url: str
    tz: ZoneInfo
    permalink: str
    excerpt_length: int
    default_author: Author
    authors: dict[str, Author] = field(default_factory=dict)
    max_markdown_bytes: int = 200_000
    jekyll: bool = False  # a Jekyll site's posts: URLs slugified as Jekyll does
    liquid: Liquid | None = None  # a Jekyll site's: Liquid in posts is rendered


class PostProblems(Exception):
    """Everything wrong with one post: (line, message) pairs."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


# Characters that print as nothing though Unicode calls them printable: the Hangul fillers
# (U+115F, U+1160, U+3164, U+FFA0) and the Braille pattern blank (U+2800).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_unpublished(meta: dict[str, Any]) -> bool:
    """`draft: true` or `published: false` in any spelling (`fields.flag`), or either set to
    something else (`fields.unclear_publication` says why it is held back)."""
    draft, published = meta.get("draft"), meta.get("published")
    return (draft is not None and fields.flag(draft) is not False) or (
        published is not None and fields.flag(published) is not True
    )


def settle(
    raw: RawPost,
    source: SourceFile,
    ctx: SettleContext,
    *,
    first_seen: datetime,
    stored_id: str | None,
    liquid_notes: list[tuple[int, str]] | None = None,
) -> Post:
    """A complete Post from one file; every problem with it raised together in PostProblems.

    Problems that only cost the post a piece (an image or an author's link that cannot
    be used, a missing title) leave it published: they are kept in its `notes`.
    `liquid_notes` receives what its Liquid held that is left out (line, message).
    """
    meta = raw.meta
    problems: list[tuple[int, str]] = []
    notes: list[tuple[int, str]] = []
    liquid = ctx.liquid if fields.flag(meta.get("render_with_liquid")) is not False else None
    if liquid is not None:
        meta = _render_front(raw, liquid, liquid_notes)

    def problem(key: str, message: str) -> None:
        problems.append((raw.line_of(key), message))

    def note(key: str, message: str) -> None:
        notes.append((raw.line_of(key), message))

    stem, suffix = os.path.splitext(os.path.basename(source.rel))
    file_date, title_slug = split_filename_date(stem)

    title_html = collapse_whitespace(fields.text(meta.get("title"), "title", problem))
    title = html_to_text(title_html) if "<" in title_html or "&" in title_html else title_html
    # A title of only controls, format characters (U+200B, U+202E...), spaces and blank
    # letters (the Hangul fillers Korean users type as a blank, the Braille blank) shows none.
    untitled = not any(c.isprintable() and not c.isspace() and c not in _BLANK for c in title)
    if untitled:
        # Jekyll: 2014-03-02-march-the-second.md -> "March The Second"
        title = " ".join(w.capitalize() for w in title_slug.replace("_", " ").split("-") if w)
        title_html = title
        note(
            "title",
            f"the post has no title: feeds show it as {title!r}, and no newsletter announces "
            "it until it has one; add 'title: ...' to its front matter",
        )

    date, date_source = _settle_date(meta, file_date, first_seen, ctx.tz, problem)
    updated = date
    for key in ("last_modified_at", "updated", "modified"):
        if meta.get(key) is not None:
            try:
                updated = max(date, to_datetime(meta[key], ctx.tz))
            except DateValueError as e:
                problem(key, f"'{key}': {e}")
            break

    categories = fields.words(meta, "categories", "category", problem)
    tags = fields.words(meta, "tags", "tag", problem)

    body = raw.body
    body_format: BodyFormat = _body_format(suffix.lower(), body)
    has_liquid = liquid is not None and ("{{" in body or "{%" in body)
    if has_liquid:
        assert liquid is not None
        first_line = raw.front.count("\n") + 2  # after the closing '---'
        body, found = liquid.render(body, html_body=body_format == "html", line=first_line)
        if liquid_notes is not None:
            liquid_notes.extend(found)
    feature_source = fields.text(meta.get("feature_text"), "feature_text", problem)
    if not _bounded(body, body_format, feature_source, ctx, problem):
        raise PostProblems(problems)  # nothing more is read from a body past the bounds
    excerpt = _excerpt(meta, body, body_format, ctx.excerpt_length, problem)

    image = fields.image(meta.get("image"), ctx.site_url, note)
    author = fields.author(meta.get("author"), ctx.authors, ctx.default_author, ctx.site_url, note)

    permalink = meta.get("permalink")
    if permalink is not None and not isinstance(permalink, str):
        problem(
            "permalink", f"'permalink' must be a path such as '/news/x/', got {shown(permalink)}"
        )
        permalink = None
    if permalink and not has_placeholder(permalink):
        path, key = permalink, "permalink"
    else:
        name = fields.text(meta.get("slug"), "slug", problem) or title_slug
        # On a Jekyll site the name is slugified as Jekyll does, placeholder by placeholder.
        jekyll = ctx.jekyll
        slug = name if jekyll else slugify(name)
        local = date.astimezone(ctx.tz)
        # A front matter permalink may hold placeholders too, as in Jekyll.
        pattern = permalink or ctx.permalink
        path = expand_permalink(
            pattern, date=local, categories=categories, slug=slug, jekyll=jekyll
        )
        key = "permalink" if permalink else "slug"
    try:
        url = fields.post_url(path, ctx.site_url)
    except NotAWebLink as e:
        url = ""
        problem(key, f"'{key}': {e}: the post is left out until its URL is a page of the site")

    front_id = fields.text(meta.get("id"), "id", problem)
    post_id = site_url(front_id, ctx.site_url) if front_id else stored_id

    feed_options = meta.get("feed")
    excerpt_only = (
        isinstance(feed_options, dict) and fields.flag(feed_options.get("excerpt_only")) is True
    )

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
            feature_source=feature_source,
            image=image,
            author=author,
            body=Body(body_format, path=source.path, liquid=liquid if has_liquid else None),
        ),
        excerpt_only=excerpt_only,
        untitled=untitled,
        notes=tuple(notes),
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


def _bounded(
    body: str,
    body_format: BodyFormat,
    feature_source: str,
    ctx: SettleContext,
    problem: fields.Report,
) -> bool:
    """Whether the body and feature text are within the bounds that keep their conversion
    and cleaning quick (a problem says which is not)."""
    if body_format == "markdown" and len(body) > ctx.max_markdown_bytes // 4:
        # Characters are 1 to 4 bytes: counted only when they might be too many.
        size = len(body.encode("utf-8"))
        if size > ctx.max_markdown_bytes:
            problem(
                "",
                f"the Markdown body is {size:,} bytes, more than [content] max_markdown_bytes "
                f"({ctx.max_markdown_bytes:,}), which bounds the time its conversion takes: "
                "the post is left out; shorten it, write it as HTML, or raise "
                "max_markdown_bytes in the config",
            )
            return False
    for key, html, what in (
        ("", body, "the body"),
        ("feature_text", feature_source, "'feature_text'"),
    ):
        depth = too_deep(html)
        if depth:
            problem(
                key,
                f"{what} nests {depth:,} HTML elements inside each other, more than "
                f"{MAX_NESTING}: the post is left out; close the elements it opens "
                "(a missing </div>?)",
            )
            return False
    return True


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


def _body_format(suffix: str, body: str) -> BodyFormat:
    if suffix in (".html", ".htm"):
        return "html"
    if suffix == ".txt" and body.lstrip().startswith("<"):
        return "html"
    return "markdown"


def _excerpt(
    meta: dict[str, Any], body: str, body_format: BodyFormat, length: int, problem: fields.Report
) -> str:
    for key in ("excerpt", "description", "summary"):
        if key in meta and meta[key] is not None:
            # An explicit empty excerpt means none; HTML or Markdown in it is flattened to text.
            text = fields.text(meta[key], key, problem)
            if _MARKUP_CHARS.search(text) is None and _MARKUP_LINES.search(text) is None:
                return collapse_whitespace(text)
            return html_to_text(markdown_to_html(text))
    body_html = markdown_to_html(body) if body_format == "markdown" else body
    return truncate_words(first_paragraph_text(body_html), length)


def settle_context(config: Config) -> tuple[SettleContext, list[Problem]]:
    """What settling needs from the config (the authors file read), and its problems."""
    site = config.site
    authors, problems = _read_authors(config.content.authors_file, site.url)
    ctx = SettleContext(
        site_url=site.url,
        tz=site.tz,
        permalink=config.content.permalink,
        excerpt_length=config.content.excerpt_length,
        default_author=Author(name=site.author or site.title, email=site.author_email),
        authors=authors,
        max_markdown_bytes=config.content.max_markdown_bytes,
    )
    jekyll = config.content.jekyll_config
    if jekyll is not None:
        ctx = replace(ctx, jekyll=True)
        posts_dir = config.content.dir.resolve()
        limits = Limits(config.content.max_front_matter_bytes, config.content.max_body_bytes)
        urls = PostUrls(ctx, posts_dir, limits)
        liquid = Liquid(site.url, jekyll.parent, posts_dir, ctx.permalink, urls)
        ctx = replace(ctx, liquid=liquid)
    return ctx, problems


class PostUrls:
    """The URL of a post file, settled from the file alone (no store, no Liquid): what
    `{% post_url %}` and `{% link %}` give. Each file is settled once while it is unchanged."""

    def __init__(self, ctx: SettleContext, posts_dir: Path, limits: Limits) -> None:
        self.ctx = ctx
        self.posts_dir = posts_dir
        self.limits = limits
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
            raw = read_post(source, self.limits)
            if raw is None or is_unpublished(raw.meta):
                return None
            # A date is in every post_url name; the first-seen time is only a stand-in.
            return settle(raw, source, self.ctx, first_seen=_EPOCH, stored_id=None).url
        except (OSError, SourceProblem, PostProblems):
            return None


def _read_authors(path: Path | None, site: str) -> tuple[dict[str, Author], list[Problem]]:
    """Jekyll's _data/authors.yml: key -> {name, email, uri}, or key -> name."""
    if path is None:
        return {}, []
    try:
        data: Any = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        message = f"cannot read the authors file ({e}): fix it or remove [content] authors_file"
        return {}, [Problem(str(path), message)]
    if not isinstance(data, dict):
        return {}, [Problem(str(path), "the authors file must map keys to {name, email, uri}")]
    authors: dict[str, Author] = {}
    problems: list[Problem] = []
    for key, value in data.items():
        if isinstance(value, str):
            authors[str(key)] = Author(name=value)
            continue
        trouble: list[str] = []
        author = fields.author_from_table(value, site, trouble.append)
        problems.extend(Problem(str(path), f"{shown(key)}: {message}") for message in trouble)
        if author is not None:
            authors[str(key)] = author
    return authors, problems
