"""Pages for people beside the feeds: the stylesheet and the feeds page.

A feed opened in a browser shows as a page through its stylesheet: by default CSS
(`<?xml-stylesheet type="text/css"?>`, which every browser applies and none is removing),
linked by a relative address so it works from disk too; XSLT (`feed.xsl`) only when
`[feeds] stylesheet = "xsl"`, since browsers are removing it. The feeds page
(`[feeds] page_name`) lists every feed with its address to copy and buttons for common
readers, the email subscription when the web app is set up (`[web] base_url`), the
newsletters' archives and the latest posts. Both speak the site's language (Korean or
English) and are written by `build_feeds`, only when their bytes change.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from publisher.config import Config
from publisher.content.clean import one_line, safe_text
from publisher.content.post import Post
from publisher.content.urls import iri_to_uri
from publisher.feeds.model import (
    FORMAT_LABELS,
    MEDIA_TYPES,
    FeedFile,
    FeedPlan,
    archive_folder,
    feed_files,
    feed_title,
    public_url,
    relative_href,
)

if TYPE_CHECKING:
    import jinja2

# Every word the pages show, per language; a site language without a table uses "en".
LABELS: Mapping[str, Mapping[str, str]] = {
    "ko": {
        "note": "뉴스 피드입니다. 이 주소를 Feedly, Inoreader, NetNewsWire 같은 피드 리더에 "
        "붙여 넣으면 새 글을 받아 볼 수 있습니다.",
        "note_page": "모든 피드와 구독 버튼: %s",
        "address_label": "피드 주소",
        "page_title": "%s 피드 구독",
        "about": "피드를 구독하면 새 글을 피드 리더에서 바로 받아 볼 수 있습니다. 주소를 "
        "복사해 피드 리더에 붙여 넣거나, 쓰는 리더의 버튼을 누르세요.",
        "email": "이메일로 받아 보기",
        "feeds": "피드",
        "address": "%s %s 주소",
        "subscribe_in": "구독:",
        "archives": "뉴스레터 지난 호",
        "archive_feed": "지난 호 피드",
        "latest": "최근 글",
        "no_posts": "아직 글이 없습니다.",
        "archive_title": "%s 지난 호",
        "archive_about": "이메일로 보낸 모든 호를 웹에서 읽을 수 있습니다.",
        "issues": "지난 호",
        "no_issues": "아직 보낸 호가 없습니다.",
        "posts_count": "글 %d건",
        "all_feeds": "모든 피드",
    },
    "en": {
        "note": "This is a news feed. Paste its address into a feed reader such as Feedly, "
        "Inoreader or NetNewsWire to get every new post.",
        "note_page": "Every feed, with subscribe buttons: %s",
        "address_label": "Feed address",
        "page_title": "%s: feeds",
        "about": "Subscribe to a feed to get every new post in your feed reader: copy its "
        "address into the reader, or press your reader's button.",
        "email": "Get it by email",
        "feeds": "Feeds",
        "address": "%s, %s address",
        "subscribe_in": "Subscribe in",
        "archives": "Newsletter archives",
        "archive_feed": "feed of the archive",
        "latest": "Latest posts",
        "no_posts": "No posts yet.",
        "archive_title": "%s: every issue",
        "archive_about": "Every issue sent by email, to read on the web.",
        "issues": "Issues",
        "no_issues": "No issue sent yet.",
        "posts_count": "%d posts",
        "all_feeds": "All feeds",
    },
}

# Readers that subscribe from a link: name, and the link with the feed's address in it.
READERS = (
    ("Feedly", "https://feedly.com/i/subscription/feed%2F{}"),
    ("Inoreader", "https://www.inoreader.com/?add_feed={}"),
    ("NewsBlur", "https://www.newsblur.com/?url={}"),
    ("The Old Reader", "https://theoldreader.com/feeds/subscribe?url={}"),
)
LATEST = 10  # posts the feeds page shows


@dataclass(frozen=True)
class PageFile:
    """One feed file as the page shows it: format, public URL and the page's link to it."""

    label: str
    url: str
    href: str
    media_type: str


@dataclass(frozen=True)
class PageFeed:
    """One feed (the site's or a category's) with its files and the readers' buttons."""

    title: str
    files: tuple[PageFile, ...]
    readers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PageItem:
    """A latest post: plain title, address, date in the site's zone, and excerpt."""

    title: str
    url: str
    date: datetime
    summary: str


@dataclass(frozen=True)
class ArchiveLink:
    """A newsletter's archive: its name and the page's links to its index and feed."""

    name: str
    href: str
    feed_href: str


@dataclass(frozen=True)
class PageInputs:
    """What the feeds page shows besides its posts: settled cheaply on every build, so
    that its fingerprint tells whether the page must be made again."""

    feeds: tuple[PageFeed, ...]
    archives: tuple[ArchiveLink, ...]
    email_url: str


def labels(language: str) -> Mapping[str, str]:
    """The words of the pages for the site's `language` ('ko-KR' -> the 'ko' table)."""
    return LABELS.get(language.split("-")[0].lower(), LABELS["en"])


def subscribe_url(config: Config) -> str:
    """The web app's subscribe page when `[web] base_url` is set, else ''."""
    # Read loosely: the [web] table belongs to the web app (issue 12), absent without it.
    base = getattr(getattr(config, "web", None), "base_url", "") or ""
    return iri_to_uri(str(base).rstrip("/") + "/subscribe") if base else ""


def reader_links(url: str) -> tuple[tuple[str, str], ...]:
    """Each reader's subscribe link for the feed at `url`."""
    encoded = quote(url, safe="")
    return tuple((name, pattern.format(encoded)) for name, pattern in READERS)


def page_url(config: Config) -> str:
    """The public address of the feeds page ('' when there is none), without 'index.html'."""
    name = config.feeds.page_name
    if not name:
        return ""
    url = public_url(config.site.url, PurePosixPath(name))
    return url.removesuffix("index.html")


def stylesheet_bytes(config: Config) -> bytes:
    """The feeds' stylesheet: the CSS in the site's language, or the XSL when asked for."""
    if config.feeds.stylesheet == "xsl":
        return resources.files("publisher").joinpath("static/feed.xsl").read_bytes()
    words = labels(config.site.language)
    note = words["note"]
    url = page_url(config)
    if url:
        note += "\n" + words["note_page"] % url
    template = resources.files("publisher").joinpath("static/feed.css").read_text("utf-8")
    css = string.Template(template).substitute(
        note=_css_string(note), address=_css_string(words["address_label"])
    )
    return css.encode("utf-8")


def _css_string(text: str) -> str:
    """`text` for the inside of a double-quoted CSS string (a line break becomes one)."""
    text = safe_text(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r", "").replace("\n", "\\A ")


def page_inputs(config: Config, plans: Sequence[FeedPlan], out: Path) -> PageInputs:
    """Everything the feeds page shows but its posts, for the feeds of `plans`."""
    folder = PurePosixPath(config.feeds.page_name).parent
    feeds = []
    for plan in plans:
        files = feed_files(config, plan.slug)
        page_files = tuple(
            PageFile(
                FORMAT_LABELS[f.format],
                f.url,
                relative_href(folder, f.path),
                MEDIA_TYPES[f.format],
            )
            for f in files
        )
        xml = [f for f in files if f.format != "json"]
        readers = reader_links(_preferred(xml).url) if xml else ()
        feeds.append(PageFeed(feed_title(config.site.title, plan.category), page_files, readers))
    return PageInputs(tuple(feeds), _archives(config, folder, out), subscribe_url(config))


def _preferred(files: Sequence[FeedFile]) -> FeedFile:
    """Atom when there is one: readers take it, and it says the most."""
    return next((f for f in files if f.format == "atom"), files[0])


def _archives(config: Config, folder: PurePosixPath, out: Path) -> tuple[ArchiveLink, ...]:
    """The newsletters' archives that have an index page yet (a stat each)."""
    archive = config.archive
    if not archive.enabled:
        return ()
    found = []
    for newsletter in config.newsletters:
        where = archive_folder(archive, newsletter.id)
        if (out / where / archive.index_name).is_file():
            found.append(
                ArchiveLink(
                    one_line(newsletter.name),
                    relative_href(folder, where / archive.index_name),
                    relative_href(folder, where / archive.feed_name),
                )
            )
    return tuple(found)


def page_items(config: Config, posts: Sequence[Post]) -> tuple[PageItem, ...]:
    """The latest of `posts` (newest first) as the feeds page shows them."""
    tz = config.site.tz
    return tuple(
        PageItem(
            title=one_line(post.title) or one_line(post.excerpt)[:80] or post.url,
            url=iri_to_uri(post.url),
            date=post.date.replace(microsecond=0).astimezone(tz),
            summary=one_line(safe_text(post.excerpt)),
        )
        for post in posts[:LATEST]
    )


def feeds_page(config: Config, inputs: PageInputs, items: Sequence[PageItem]) -> bytes:
    """The feeds page as UTF-8 HTML."""
    site = config.site
    words = labels(site.language)
    site_title = one_line(site.title)
    site_feed = inputs.feeds[0] if inputs.feeds else None
    return render_page(
        "feeds.html.j2",
        lang=site.language,
        labels=words,
        title=words["page_title"] % site_title,
        description=one_line(site.description),
        site_title=site_title,
        site_url=site.url,
        alternates=[
            {"media_type": f.media_type, "title": f"{site_title} ({f.label})", "href": f.href}
            for f in (site_feed.files if site_feed else ())
        ],
        feeds=inputs.feeds,
        archives=inputs.archives,
        email_url=inputs.email_url,
        items=items,
    )


def render_page(template: str, **context: Any) -> bytes:
    """One of publisher's page templates (`static/*.html.j2`) rendered, as UTF-8 bytes."""
    return environment().get_template(template).render(context).encode("utf-8")


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the page templates shipped in `publisher/static`."""
    import jinja2  # only when a page is made: most runs make none

    return jinja2.Environment(
        loader=jinja2.PackageLoader("publisher", "static"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


__all__ = [
    "LABELS",
    "READERS",
    "ArchiveLink",
    "PageFeed",
    "PageFile",
    "PageInputs",
    "PageItem",
    "feeds_page",
    "labels",
    "page_inputs",
    "page_items",
    "page_url",
    "reader_links",
    "render_page",
    "stylesheet_bytes",
    "subscribe_url",
]
