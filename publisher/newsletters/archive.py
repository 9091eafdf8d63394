"""The archive: a web page for every issue, and an index page and an Atom feed per newsletter.

An issue's page is its email (`render_issue(..., web=True)`) with nothing of one reader's
(no address, no unsubscribe link) and every post it announced, those its email counted in
"and N more" too; its links are the email's, all absolute. The pages go under `[feeds]
output_dir` (published at the site's URL), in `[archive] dir`/<newsletter id>/, with the
newsletter's `index_name` page listing every issue and its `feed_name` Atom feed.

The send stage calls `archive_issues` once the issues are recorded and before any message
is handed over, so the email's "view in browser" and "and N more" links work when it
arrives. A page is written once, when its issue is new (a row in the state says it is
there: an issue resumed after a crash gets the page it missed); the index and the feed of
a newsletter are written again only when an issue joins them, and only if their bytes
changed. A run with no new issue touches none of it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from publisher.config import Config
from publisher.content.clean import one_line
from publisher.content.post import Author, Post
from publisher.content.urls import iri_to_uri, site_url
from publisher.errors import Problem, PublisherError
from publisher.feeds.items import FeedItem
from publisher.feeds.model import (
    Feed,
    FeedFile,
    Format,
    archive_folder,
    archive_page,
    public_url,
    relative_href,
    stylesheet_link,
)
from publisher.feeds.output import put_all
from publisher.feeds.page import labels, render_page, subscribe_url
from publisher.feeds.xmlfeeds import render_atom, xml_entries
from publisher.newsletters.plan import Issue
from publisher.newsletters.render import render_issue
from publisher.store import Store
from publisher.store.archive import ArchivedIssue, add, archived_ids, listed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchiveReport:
    """What `archive_issues` wrote: issue pages, the newsletters whose archive is new (its
    index page written for the first time), and what could not be written."""

    pages: tuple[Path, ...] = ()
    new_archives: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()


def archive_issues(
    config: Config, store: Store, issues: Sequence[Issue], posts: Sequence[Post]
) -> ArchiveReport:
    """Write the page of each of `issues` that has none yet, then the index and feed of
    their newsletters; the problems of what could not be written (the emails still go)."""
    archive = config.archive
    if not archive.enabled or not issues:
        return ArchiveReport()
    done = archived_ids(store, [i.id for i in issues])
    out = config.feeds.output_dir
    by_id = {p.id: p for p in posts}
    problems: list[Problem] = []
    pages: list[Path] = []
    touched: dict[str, None] = {}
    for issue in issues:
        if issue.id in done:
            continue
        try:
            page = render_issue(config, issue, posts, web=True)
        except PublisherError as e:
            problems.append(Problem(f"issue {issue.id}", f"no archive page: {e}"))
            continue
        path = out / archive_page(archive, issue.newsletter_id, issue.id)
        try:
            put_all([(path, page.html.encode("utf-8"))], dry_run=False)
        except OSError as e:
            problems.append(_cannot_write(path, e))
            continue
        shown = tuple(
            (one_line(by_id[i].title) or by_id[i].url, iri_to_uri(by_id[i].url))
            for i in page.post_ids
        )
        with store.transaction():
            add(
                store,
                ArchivedIssue(issue.id, issue.newsletter_id, issue.created, page.subject, shown),
            )
        log.info("archive: %s written", path)
        pages.append(path)
        touched[issue.newsletter_id] = None
    new_archives = []
    for newsletter_id in touched:
        index = out / archive_folder(archive, newsletter_id) / archive.index_name
        first = not index.exists()
        trouble = _write_lists(config, store, newsletter_id)
        problems += trouble
        if first and not trouble:
            new_archives.append(newsletter_id)
    return ArchiveReport(tuple(pages), tuple(new_archives), tuple(problems))


def _cannot_write(path: Path, error: OSError) -> Problem:
    return Problem(
        "[archive] dir",
        f"{path}: cannot write the archive ({error}): check [feeds] output_dir and its "
        "permissions; the emails still go out",
    )


@dataclass(frozen=True)
class _Listed:
    """An issue as the index page shows it."""

    href: str
    title: str
    created: datetime
    count: int
    posts: str


def _write_lists(config: Config, store: Store, newsletter_id: str) -> list[Problem]:
    """Write the newsletter's index page and Atom feed from every issue archived so far."""
    archive, site = config.archive, config.site
    newsletter = config.newsletter(newsletter_id)
    folder = archive_folder(archive, newsletter_id)
    words = labels(site.language)
    name = one_line(newsletter.name)
    tz = site.tz
    issues = listed(store, newsletter_id)
    index = render_page(
        "archive.html.j2",
        lang=site.language,
        labels=words,
        title=words["archive_title"] % name,
        site_title=one_line(site.title),
        site_url=site.url,
        alternates=[
            {
                "media_type": "application/atom+xml",
                "title": words["archive_title"] % name,
                "href": archive.feed_name,
            }
        ],
        feed_href=archive.feed_name,
        feeds_href=relative_href(folder, PurePosixPath(config.feeds.page_name))
        if config.feeds.page_name
        else "",
        email_url=subscribe_url(config),
        issues=[
            _Listed(
                f"{i.issue_id}.html",
                i.title,
                i.created.replace(microsecond=0).astimezone(tz),
                len(i.posts),
                " · ".join(title for title, _ in i.posts),
            )
            for i in issues
        ],
    )
    out = config.feeds.output_dir
    files = [
        (out / folder / archive.index_name, index),
        (out / folder / archive.feed_name, archive_feed(config, newsletter_id, issues)),
    ]
    try:
        put_all(files, dry_run=False)
    except OSError as e:
        return [_cannot_write(out / folder, e)]
    return []


def archive_feed(config: Config, newsletter_id: str, issues: Sequence[ArchivedIssue]) -> bytes:
    """The Atom feed of a newsletter's archive: its latest issues (`[archive] limit`)."""
    archive, site = config.archive, config.site
    newsletter = config.newsletter(newsletter_id)
    folder = archive_folder(archive, newsletter_id)
    name = one_line(newsletter.name)
    words = labels(site.language)
    tz = site.tz
    items = []
    for issue in issues[: archive.limit]:
        url = public_url(site.url, archive_page(archive, newsletter_id, issue.issue_id))
        when = issue.created.replace(microsecond=0).astimezone(tz)
        links = "".join(
            f'<li><a href="{html.escape(u)}">{html.escape(t)}</a></li>' for t, u in issue.posts
        )
        items.append(
            FeedItem(
                id=url,
                url=url,
                title=issue.title,
                published=when,
                updated=when,
                author=Author(name),
                categories=(),
                summary=" · ".join(t for t, _ in issue.posts),
                content_html=f"<ul>{links}</ul>",
                image=None,
            )
        )
    feed_path = folder / archive.feed_name
    home = public_url(site.url, folder / archive.index_name).removesuffix("index.html")
    feed = Feed(
        id=home,
        category="",
        title=words["archive_title"] % name,
        subtitle=words["archive_about"],
        home_url=home,
        language=site.language,
        icon=site_url(site.icon, site.url) if site.icon else "",
        logo=site_url(site.logo, site.url) if site.logo else "",
        hub="",
        stylesheet=stylesheet_link(config.feeds, folder),
        updated=max((i.updated for i in items), default=_NO_ISSUES),
        files=(FeedFile("atom", feed_path, public_url(site.url, feed_path)),),
        items=tuple(items),
    )
    formats: tuple[Format, ...] = ("atom",)
    return render_atom(feed, xml_entries(items, formats)["atom"])


_NO_ISSUES = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
