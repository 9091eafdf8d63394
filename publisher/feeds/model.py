"""The feeds to write, as values: which posts go in which feed.

`select_posts` settles which posts each feed shows (the site feed and one per category)
from the posts' fields alone, and `make_feed` puts a feed together from the items of its
posts (`items`, made once per post by `render`). The renderers in `xmlfeeds` and
`jsonfeed` only read the resulting `Feed` values.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import quote

from publisher import __version__
from publisher.config import Config
from publisher.config.outputs import STYLESHEET_NAME
from publisher.content.clean import one_line
from publisher.content.post import Post
from publisher.content.urls import site_url
from publisher.errors import Problem
from publisher.feeds.items import FeedImage, FeedItem, image_length, unique

Format = Literal["atom", "rss", "json"]
MEDIA_TYPES: dict[Format, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
FORMAT_LABELS: dict[Format, str] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
GENERATOR = ("publisher", __version__)
_NOT_SLUG = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class FeedFile:
    """One file of a feed: its format, path under the output folder and public URL."""

    format: Format
    path: PurePosixPath
    url: str


@dataclass(frozen=True)
class Feed:
    """A feed in every configured format: the site's (`category` empty) or one category's."""

    id: str
    category: str
    title: str
    subtitle: str
    home_url: str
    language: str
    icon: str
    logo: str
    hub: str
    stylesheet_url: str
    updated: datetime
    files: tuple[FeedFile, ...]
    items: tuple[FeedItem, ...]

    def file(self, fmt: Format) -> FeedFile:
        """This feed's file in format `fmt` (which must be configured)."""
        return next(f for f in self.files if f.format == fmt)


def category_slug(name: str) -> str:
    """A stable, URL-safe folder name for a category: 'Breaking News' -> 'breaking-news'.

    Letters of every script stay ('정치' stays '정치'; its URL is percent-encoded);
    a name with no letters or digits at all gets a short hash.
    """
    text = unicodedata.normalize("NFKC", one_line(name)).casefold()
    slug = _NOT_SLUG.sub("-", text).strip("-")[:60].strip("-")
    return slug or "c-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]  # noqa: S324


@dataclass(frozen=True)
class FeedPlan:
    """A feed before any post in it is cleaned: its category, folder and posts (newest first)."""

    category: str
    slug: str
    posts: tuple[Post, ...]


@dataclass(frozen=True)
class Selection:
    """Which posts every feed shows, what else decides their items, and what was wrong.

    Settled from the posts' fields alone, without reading or cleaning a body, so a build
    can tell which feeds are unchanged before doing the costly part.
    """

    feeds: tuple[FeedPlan, ...]
    shifts: Mapping[str, int]  # post id -> seconds added to its update time (0 omitted)
    lengths: Mapping[str, int | None]  # post id -> byte length of its image, when known
    problems: tuple[Problem, ...]


def select_posts(config: Config, posts: Sequence[Post]) -> Selection:
    """The site feed and one per category with the posts each shows (the site's first)."""
    problems: list[Problem] = []
    limit = config.feeds.limit
    kept: list[Post] = []
    seen: set[str] = set()
    for post in posts:
        if post.id in seen:
            problems.append(
                Problem(
                    post.source, f"id {post.id!r} is also another post's: left out of the feeds"
                )
            )
            continue
        seen.add(post.id)
        kept.append(post)
    site_posts = kept[:limit]
    by_slug: dict[str, list[Post]] = {}
    categorized = kept if config.feeds.categories else []
    folders = _Folders(categorized, problems)
    combos: dict[tuple[str, ...], tuple[str, ...]] = {}
    for post in categorized:
        slugs = combos.get(post.categories)
        if slugs is None:
            # Posts share a few combinations of categories: settle each combination once.
            slugs = unique(folders.slug(raw, post.source) for raw in post.categories)
            combos[post.categories] = slugs
        for slug in slugs:
            bucket = by_slug.get(slug)
            if bucket is None:
                by_slug[slug] = [post]
            elif len(bucket) < limit:
                bucket.append(post)

    shown = {p.id: p for p in site_posts} | {p.id: p for b in by_slug.values() for p in b}
    lengths = {
        p.id: image_length(config, p, problems) for p in shown.values() if p.image is not None
    }
    plans = [FeedPlan("", "", tuple(site_posts))]
    plans.extend(FeedPlan(folders.names[s], s, tuple(by_slug[s])) for s in sorted(by_slug))
    return Selection(tuple(plans), update_shifts(posts), lengths, tuple(problems))


class _Folders:
    """Category names to feed folders: 'News' and 'news' share one, 'C++' and 'C#' do not.

    When names collide, the one the oldest post uses keeps the plain folder (and, for names
    such as 'News' and 'news', names the feed): a new post never moves a category's feed.
    """

    def __init__(self, posts: Sequence[Post], problems: list[Problem]) -> None:
        """`posts` newest first: every category name is known before any folder is given."""
        self.names: dict[str, str] = {}  # folder -> the name of the category it holds
        self._slugs: dict[str, str] = {}  # name as written -> folder ('' for a blank name)
        self._plain: dict[str, tuple[str, str]] = {}  # name as written -> (cleaned, plain folder)
        self._problems = problems
        combos: set[tuple[str, ...]] = set()
        for post in reversed(posts):  # oldest first: the first to claim a folder keeps it
            if post.categories in combos:
                continue  # posts share a few combinations of categories
            combos.add(post.categories)
            for raw in post.categories:
                if raw not in self._plain:
                    name = one_line(raw)
                    slug = category_slug(name) if name else ""
                    self._plain[raw] = (name, slug)
                    if slug:
                        self.names.setdefault(slug, name)

    def slug(self, raw: str, source: str) -> str:
        """The folder of category `raw` ('' when the name is blank); settled once per name."""
        if raw in self._slugs:
            return self._slugs[raw]
        name, slug = self._plain[raw]
        owner = self.names[slug] if slug else name
        if owner.casefold() != name.casefold():
            # Two names, one folder: the one that claimed it later gets a suffix of its own.
            shared, slug = slug, f"{slug}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"  # noqa: S324
            self.names.setdefault(slug, name)
            self._problems.append(
                Problem(
                    source,
                    f"categories {owner!r} and {name!r} both make the feed folder {shared!r}: "
                    f"{name!r} gets {slug!r}; rename one to keep URLs readable",
                    warning=True,
                )
            )
        self._slugs[raw] = slug
        return slug


def update_shifts(posts: Sequence[Post]) -> dict[str, int]:
    """Seconds to add to a post's update time so that no two posts share one (0 omitted).

    Readers (and the validator's DuplicateUpdated rule) take two entries updated at the
    same instant for a mistake; posts dated by day alone often share one. Going from the
    oldest, a new post never shifts an older one's time, so output stays stable.
    """
    taken: dict[int, int] = {}  # a second in use -> the next second that may be free
    result: dict[str, int] = {}
    for post in reversed(posts):
        updated, date = post.updated, post.date
        # Whole seconds since the epoch: cheap to compare, whatever each date's zone.
        wanted = int((updated if updated > date else date).timestamp())
        if wanted not in taken:  # the common case, without the bookkeeping below
            taken[wanted] = wanted + 1
            continue
        second, passed = wanted, []
        while second in taken:
            passed.append(second)
            second = taken[second]
        # Every second passed now points past this one: thousands of posts first seen at
        # one moment cost linear time, not quadratic.
        for p in passed:
            taken[p] = second + 1
        taken[second] = second + 1
        if second != wanted:
            result.setdefault(post.id, second - wanted)
    return result


def feed_files(config: Config, slug: str) -> tuple[FeedFile, ...]:
    """The files of the site feed (`slug` empty) or of one category's, one per format."""
    folder = PurePosixPath(config.feeds.category_dir, slug) if slug else PurePosixPath()
    names: dict[Format, str] = {
        "atom": config.feeds.atom_name,
        "rss": config.feeds.rss_name,
        "json": config.feeds.json_name,
    }
    return tuple(
        FeedFile(fmt, folder / names[fmt], public_url(config.site.url, folder / names[fmt]))
        for fmt in dict.fromkeys(config.feeds.formats)
    )


def feed_title(site_title: str, category: str) -> str:
    """The title of the site feed (`category` empty) or of one category's."""
    title = one_line(site_title)
    return f"{title} – {category}" if category else title


def make_feed(config: Config, plan: FeedPlan, items: list[FeedItem]) -> Feed:
    """The feed of `plan`, with the items of its posts in order."""
    site = config.site
    category, slug = plan.category, plan.slug
    return Feed(
        id=public_url(site.url, PurePosixPath(config.feeds.category_dir, slug))
        if slug
        else site.url,
        category=category,
        title=feed_title(site.title, category),
        subtitle=one_line(site.description),
        home_url=site.url,
        language=site.language,
        icon=site_url(site.icon, site.url) if site.icon else "",
        logo=site_url(site.logo, site.url) if site.logo else "",
        hub=config.feeds.websub_hub,
        stylesheet_url=public_url(site.url, PurePosixPath(STYLESHEET_NAME))
        if config.feeds.stylesheet
        else "",
        # The newest change among the items, never the clock: an unchanged site rebuilds
        # byte for byte.
        updated=max((i.updated for i in items), default=_NO_ITEMS),
        files=feed_files(config, slug),
        items=tuple(items),
    )


# The `updated` of a feed with no items yet: fixed, so reruns change nothing, and after
# 1990, which the validator takes for the earliest plausible date.
_NO_ITEMS = datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def public_url(site_url: str, path: PurePosixPath) -> str:
    """The public URL of a path under the output folder: site URL + path, percent-encoded."""
    text = path.as_posix()
    return site_url + ("" if text == "." else quote(text + ("/" if not path.suffix else "")))


__all__ = [
    "FORMAT_LABELS",
    "GENERATOR",
    "MEDIA_TYPES",
    "Feed",
    "FeedFile",
    "FeedImage",
    "FeedItem",
    "FeedPlan",
    "Format",
    "Selection",
    "category_slug",
    "feed_files",
    "feed_title",
    "make_feed",
    "public_url",
    "select_posts",
]
