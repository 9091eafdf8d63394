"""Render one newsletter issue once: subject, CSS-inlined HTML and plain text (no MIME).

The per-subscriber parts (the unsubscribe link, the address) are left as placeholders
that `message` fills in without rendering or inlining again. The HTML is kept
under `[email] max_html_bytes` (Gmail clips at about 102 KB): over it, posts are shown
with their excerpts only (when any had a feature text), then fewer posts are shown
(counted in "and N more").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from markupsafe import Markup, escape

from publisher.config import Config, NewsletterConfig
from publisher.content.clean import clean_html, one_line
from publisher.content.post import Author, Body, Details, Image, Post
from publisher.content.urls import site_url
from publisher.errors import Problem, PublisherError, TemplateError
from publisher.feeds.model import archive_page, public_url
from publisher.newsletters.plan import Issue
from publisher.newsletters.templates import (
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_PREFERENCES,
    PLACEHOLDER_UNSUBSCRIBE,
    environment,
    inline_css,
    load_labels,
    template_problem,
    wrap_text,
)

__all__ = [
    "PLACEHOLDER_EMAIL",
    "PLACEHOLDER_UNSUBSCRIBE",
    "RenderedIssue",
    "check_templates",
    "issue_url",
    "render_issue",
]

log = logging.getLogger(__name__)

Level = Literal["full", "excerpts", "fewer posts"]
# Room kept in the budget for what each subscriber's copy adds (link and address).
_PER_PLACEHOLDER = {
    PLACEHOLDER_UNSUBSCRIBE: 300,
    PLACEHOLDER_EMAIL: 260,
    PLACEHOLDER_PREFERENCES: 300,
}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PostView:
    """What a template sees of a post: plain values, summary as HTML and as text."""

    id: str
    title: str
    url: str
    date: datetime
    categories: tuple[str, ...]
    author: str
    image_url: str
    image_alt: str
    summary_html: Markup
    summary_text: str


@dataclass(frozen=True)
class RenderedIssue:
    """One issue rendered once: `html` and `text` still hold the per-subscriber placeholders.

    `post_ids` are the posts shown (fewer than the issue's when the size budget cut some;
    those are added to `more`). `message.prepare` encodes it once for every subscriber.
    """

    issue: Issue
    subject: str
    html: str
    text: str
    post_ids: tuple[str, ...]
    more: int
    level: Level

    @property
    def html_bytes(self) -> int:
        """Size of the HTML part, UTF-8, before the per-subscriber parts are filled in."""
        return len(self.html.encode("utf-8"))


def _view(post: Post, level: Level) -> PostView:
    if level == "full" and post.feature_text:
        # Markdown from the front matter, which may hold raw HTML: cleaned like feed content
        # (no script, style, event handlers or javascript: links; every URL absolute).
        summary_html = Markup(clean_html(post.feature_html, post.url))  # noqa: S704
        summary_text = post.feature_text
    else:
        summary_html = Markup("<p>") + escape(post.excerpt) + Markup("</p>")
        summary_text = post.excerpt
    image = post.image
    return PostView(
        id=post.id,
        title=one_line(post.title),
        url=post.url,
        date=post.date,
        categories=post.categories,
        author=post.author.name,
        image_url=image.url if image else "",
        image_alt=(image.alt if image and image.alt else one_line(post.title)),
        summary_html=summary_html,
        summary_text=summary_text.strip(),
    )


def _context(
    config: Config,
    newsletter: NewsletterConfig,
    issue: Issue,
    views: list[PostView],
    more: int,
    labels: Any,
    *,
    web: bool,
) -> dict[str, Any]:
    site = config.site
    page = issue_url(config, issue)
    return {
        "site": site,
        "newsletter": newsletter,
        "lang": _lang(site.language),
        "labels": labels,
        "posts": views,
        "post": views[0],
        "count": len(views) + more,
        "more": more,
        # "and N more" leads to the issue's page, which lists every post it announced.
        "more_url": page or site.url,
        "logo_url": site_url(site.logo, site.url) if site.logo else "",
        "issue_date": issue.created,
        "preheader": _SPACES.sub(" ", views[0].summary_text)[:140],
        # The page itself holds nothing of one reader's, and no link to itself.
        "issue_url": "" if web else page,
        "unsubscribe_url": "" if web else PLACEHOLDER_UNSUBSCRIBE,
        "subscriber_email": "" if web else PLACEHOLDER_EMAIL,
        "contact_line": one_line(newsletter.contact_line or config.email.contact_line),
        # the reader's preferences page, when the site runs the web app ([web])
        "preferences_url": PLACEHOLDER_PREFERENCES if config.web and not web else "",
    }


def issue_url(config: Config, issue: Issue) -> str:
    """The public address of the issue's archive page ('' when [archive] is off)."""
    archive = config.archive
    if not archive.enabled:
        return ""
    return public_url(config.site.url, archive_page(archive, issue.newsletter_id, issue.id))


def _lang(language: str) -> str:
    """'ko-KR' -> 'ko': the labels' key."""
    return language.split("-")[0].lower()


def _render(config: Config, name: str, context: dict[str, Any]) -> str:
    try:
        return environment(config).get_template(name).render(context)
    except Exception as e:  # any template mistake becomes a problem naming file and line
        problem = template_problem(config.email.templates_dir, e, name)
        raise TemplateError(f"cannot render the email template {name!r}", [problem]) from e


def _subject(
    config: Config, newsletter: NewsletterConfig, key: str, context: dict[str, Any]
) -> str:
    source = getattr(newsletter, key)
    try:
        text = environment(config).from_string(source).render(context)
    except Exception as e:  # a broken subject template is a config problem
        where = f"newsletters[{config.newsletters.index(newsletter)}].{key}"
        raise TemplateError(
            f"cannot render the subject template {where}",
            [Problem(where, f"{type(e).__name__}: {e}: fix the template {source!r}")],
        ) from e
    return _SPACES.sub(" ", one_line(text))


def _budget_left(budget: int, html: str) -> int:
    """Bytes left of `budget` ([email] max_html_bytes) once each subscriber's parts are in."""
    extra = sum(html.count(p) * room for p, room in _PER_PLACEHOLDER.items())
    return budget - len(html.encode("utf-8")) - extra


def render_issue(
    config: Config,
    issue: Issue,
    posts: Sequence[Post],
    *,
    web: bool = False,
    archived: bool = True,
) -> RenderedIssue:
    """Render `issue` (its posts looked up in `posts`) once: subject, inlined HTML, text.

    `web`: its archive page instead (HTML only): every post it announced, those counted
    in "and N more" too, with nothing of one reader's and no size budget. `archived`
    False: the issue gets no page (a test copy), so the email links to none.
    """
    newsletter = config.newsletter(issue.newsletter_id)
    by_id = {p.id: p for p in posts}
    missing = [i for i in issue.post_ids if i not in by_id]
    if missing:
        raise PublisherError(
            f"issue {issue.id} shows post {missing[0]!r}, which is not among the posts given"
        )
    chosen = [by_id[i] for i in issue.post_ids]
    alert = len(chosen) == 1 and issue.more == 0
    name = newsletter.template_alert if alert else newsletter.template_digest
    subject_key = "subject_alert" if alert else "subject_digest"
    more = issue.more
    if web:  # the posts counted in "and N more" that are still there, shown
        chosen += [by_id[i] for i in issue.more_ids if i in by_id]
        more = 0
    labels = load_labels(
        config, _lang(config.site.language)
    )  # once: every attempt shows the same words

    def attempt(level: Level) -> tuple[str, dict[str, Any]]:
        views = [_view(p, level) for p in chosen]
        context = _context(config, newsletter, issue, views, more, labels, web=web)
        if not archived:
            context.update(issue_url="", more_url=config.site.url)
        context["subject"] = _subject(config, newsletter, subject_key, context)
        return inline_css(_render(config, f"{name}.html.j2", context)), context

    level: Level = "full"
    html, context = attempt(level)
    if web:
        ids = tuple(p.id for p in chosen)
        return RenderedIssue(issue, str(context["subject"]), html, "", ids, 0, level)
    # Without a feature text, excerpts-only is what "full" already showed: not worth rendering
    # and inlining again.
    if _budget_left(config.email.max_html_bytes, html) < 0 and any(p.feature_text for p in chosen):
        log.warning(
            "%s: the HTML is %d bytes, over the %d-byte budget: showing excerpts only",
            issue.id,
            len(html.encode("utf-8")),
            config.email.max_html_bytes,
        )
        level = "excerpts"
        html, context = attempt(level)
    while _budget_left(config.email.max_html_bytes, html) < 0 and len(chosen) > 1:
        level = "fewer posts"
        chosen, more = chosen[:-1], more + 1
        html, context = attempt(level)
    if level == "fewer posts":
        log.warning("%s: over budget with every excerpt: showing %d posts", issue.id, len(chosen))
    if _budget_left(config.email.max_html_bytes, html) < 0:
        log.warning(
            "%s: the HTML is still over %d bytes with one post: sending it anyway",
            issue.id,
            config.email.max_html_bytes,
        )
    text = wrap_text(_render(config, f"{name}.txt.j2", context))
    subject = str(context["subject"])
    return RenderedIssue(
        issue=issue,
        subject=subject,
        html=html,
        text=text,
        post_ids=tuple(p.id for p in chosen),
        more=more,
        level=level,
    )


def _sample_posts(site_url: str) -> list[Post]:
    """Two posts shaped like real ones, to try the templates on."""
    when = datetime(2024, 6, 19, 10, 0, tzinfo=UTC)
    base = Post(
        source="sample.md",
        id=site_url + "sample/1/",
        url=site_url + "sample/1/",
        date=when,
        date_source="front matter",
        updated=when,
        categories=("News",),
        details=Details(
            title="<Sample> & title",
            title_html="&lt;Sample&gt; &amp; title",
            tags=(),
            excerpt="A sample excerpt.",
            feature_source="A *sample* feature text.",
            image=Image(url=site_url + "sample.jpg", mime_type="image/jpeg"),
            author=Author(name="Sample"),
            body=Body.of("<p>Sample.</p>", "html"),
        ),
    )
    second = replace(
        base.with_details(image=None, feature_source=""),
        id=base.id.replace("/1/", "/2/"),
        url=base.url.replace("/1/", "/2/"),
    )
    return [base, second]


def check_templates(config: Config) -> list[Problem]:
    """Every problem with the email templates, found by rendering each newsletter's both ways."""
    if not config.newsletters:
        return []
    folder = config.email.templates_dir
    if not folder.is_dir():
        return [
            Problem(
                str(folder),
                "the email templates folder does not exist: set [email] templates_dir, or copy "
                "email_templates/ from publisher's source",
            )
        ]
    problems: list[Problem] = []
    samples = _sample_posts(config.site.url)
    when = samples[0].date
    for newsletter in config.newsletters:
        for shown, more_ids in ((samples[:1], ()), (samples, ("extra",))):
            issue = Issue(
                id=f"{newsletter.id}-check",
                newsletter_id=newsletter.id,
                post_ids=tuple(p.id for p in shown),
                created=when,
                more_ids=more_ids,
            )
            for web in (False, True):  # the email, and the issue's archive page
                try:
                    render_issue(config, issue, samples, web=web)
                except TemplateError as e:
                    problems.extend(p for p in e.problems if p not in problems)
    return problems
