"""Which posts each newsletter announces, and when: `Issue` values planned from the posts.

A newsletter is due when its schedule has fired (in the site's time zone) since its last
issue. It then announces every post in its categories that it has not announced yet,
whose date has come and is no older than `max_age`, newest first, at most `max_posts`
(the rest are counted in `more` and marked announced too). A post dated after the fire
that made the newsletter due waits for the next fire, so a daily digest at 07:00 is not
sent again at 15:00 because a post came in then. A post without a title of its own waits
until it has one. Nothing is due when nothing is new.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from publisher.config import Config, NewsletterConfig, crontab
from publisher.content.post import Post
from publisher.store import Store
from publisher.store import announced as announced_store

log = logging.getLogger(__name__)

# Cron fires name a minute: a post that arrives during the minute of the fire is in time.
_FIRE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Issue:
    """One mailing of one newsletter: the posts it shows, newest first, and how many more.

    `id` is derived from the newsletter and every post it announces, so planning the same
    moment twice gives the same id. `more_ids` are the posts beyond `max_posts`: not shown,
    but announced with the issue.
    """

    id: str
    newsletter_id: str
    post_ids: tuple[str, ...]
    created: datetime
    more_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.created.tzinfo is None:
            raise ValueError("an issue's creation time must be timezone-aware")

    @property
    def more(self) -> int:
        """How many posts the issue announces beyond those it shows."""
        return len(self.more_ids)

    @property
    def all_post_ids(self) -> tuple[str, ...]:
        """Every post this issue announces: those shown, then the rest."""
        return self.post_ids + self.more_ids


def issue_id(newsletter_id: str, post_ids: Sequence[str]) -> str:
    """'<newsletter>-<12 hex digits>' from the newsletter and the posts it announces."""
    digest = hashlib.sha256("\n".join([newsletter_id, *post_ids]).encode("utf-8"))
    return f"{newsletter_id}-{digest.hexdigest()[:12]}"


def due_since(
    tz: tzinfo, store: Store, newsletter: NewsletterConfig, now: datetime
) -> datetime | None:
    """The fire time that makes this newsletter due at `now` (its schedule read in `tz`), or
    None when it is not due."""
    fired = crontab.last_fire(newsletter.schedule, tz, now)
    if fired is None:
        return None
    last = announced_store.last_issue(store, newsletter.id)
    if last is not None and fired <= last:
        return None
    return fired


def in_newsletter(newsletter: NewsletterConfig, post: Post) -> bool:
    """Whether `post` is in the newsletter's categories (all posts when it names none)."""
    return not newsletter.categories or not set(newsletter.categories).isdisjoint(post.categories)


def select_posts(
    newsletter: NewsletterConfig,
    posts: Sequence[Post],
    announced: frozenset[str],
    now: datetime,
    cutoff: datetime | None = None,
) -> list[Post]:
    """This newsletter's new posts at `now`, newest first (all of them, before max_posts).

    Posts dated at or after `cutoff` (the minute after the fire) wait for the next fire;
    posts without a title of their own wait until they have one (they are not marked
    announced meanwhile).
    """
    oldest = now - newsletter.max_age
    chosen = [
        p
        for p in posts
        if p.id not in announced
        and not p.untitled  # announced once it has a title: a subject needs one
        and oldest <= p.date <= now
        and (cutoff is None or p.date < cutoff)
        and in_newsletter(newsletter, p)
    ]
    chosen.sort(key=lambda p: (p.date, p.id), reverse=True)
    return chosen


def plan_issues(
    config: Config, store: Store, posts: Sequence[Post], now: datetime
) -> tuple[Issue, ...]:
    """The issues due at `now`, one per due newsletter with something new; writes nothing."""
    issues = []
    for newsletter in config.newsletters:
        fired = due_since(config.site.tz, store, newsletter, now)
        if fired is None:
            shown = now.astimezone(config.site.tz).replace(microsecond=0).isoformat(sep=" ")
            log.debug("%s: not due at %s", newsletter.id, shown)
            continue
        chosen = select_posts(
            newsletter,
            posts,
            announced_store.announced_ids(store, newsletter.id),
            now,
            cutoff=fired + _FIRE_MINUTE,
        )
        if not chosen:
            log.debug("%s: due, but nothing new", newsletter.id)
            continue
        issues.append(_issue(newsletter, chosen, now))
    return tuple(issues)


def next_issue_time(
    tz: tzinfo, store: Store, newsletter: NewsletterConfig, posts: Sequence[Post], now: datetime
) -> datetime | None:
    """The first moment from `now` on at which a run could make an issue of `newsletter` if
    nothing but the time changes (`posts`: the published ones, as a run at `now` saw them).

    `now` when it is due with a post waiting (its issue could not be made: each run tries
    again); its next fire when a post will still be new enough then; None when no post
    waits. Posts dated after `now` are not looked at: the run that publishes one plans
    again. Writes nothing.
    """
    announced = announced_store.announced_ids(store, newsletter.id)
    fired = due_since(tz, store, newsletter, now)
    if fired is not None and select_posts(
        newsletter, posts, announced, now, cutoff=fired + _FIRE_MINUTE
    ):
        return now
    at = crontab.next_fire(newsletter.schedule, tz, now)
    if at is None:
        return None
    # Later fires find no more: a post too old at this fire is too old at every later one.
    waiting = select_posts(newsletter, posts, announced, at, cutoff=at + _FIRE_MINUTE)
    return at if waiting else None


def upcoming_issue(
    tz: tzinfo,
    store: Store,
    newsletter: NewsletterConfig,
    posts: Sequence[Post],
    now: datetime,
) -> Issue | None:
    """The next issue of `newsletter` as it stands at `now`, or None when nothing waits.

    Due now with something to send, it is the issue `plan_issues` makes. Otherwise it is
    the one its next fire will make if nothing else comes in (`posts` may include posts
    dated later, not published yet), or, when nothing waits for that fire, the issue of the
    first fire that a post dated later will make. Its `created` is that fire's time (or
    `now`). Writes nothing.
    """
    announced = announced_store.announced_ids(store, newsletter.id)
    fired = due_since(tz, store, newsletter, now)
    if fired is not None:
        chosen = select_posts(newsletter, posts, announced, now, cutoff=fired + _FIRE_MINUTE)
        if chosen:
            return _issue(newsletter, chosen, now)
    at = crontab.next_fire(newsletter.schedule, tz, now)
    if at is None:
        return None
    chosen = select_posts(newsletter, posts, announced, at, cutoff=at + _FIRE_MINUTE)
    if not chosen:
        later = [
            p.date
            for p in posts
            if p.date >= at + _FIRE_MINUTE
            and p.id not in announced
            and in_newsletter(newsletter, p)
        ]
        # The first fire whose minute the earliest of them is in, or after it.
        found = (
            crontab.next_fire(newsletter.schedule, tz, min(later) - _FIRE_MINUTE) if later else None
        )
        if found is None:
            return None
        at = found
        chosen = select_posts(newsletter, posts, announced, at, cutoff=at + _FIRE_MINUTE)
    return _issue(newsletter, chosen, at) if chosen else None


def _issue(newsletter: NewsletterConfig, chosen: Sequence[Post], at: datetime) -> Issue:
    """The issue made at `at` of `chosen` (newest first): the first `max_posts` shown."""
    ids = [p.id for p in chosen]
    shown, rest = ids[: newsletter.max_posts], ids[newsletter.max_posts :]
    return Issue(
        id=issue_id(newsletter.id, ids),
        newsletter_id=newsletter.id,
        post_ids=tuple(shown),
        created=at,
        more_ids=tuple(rest),
    )


def mark_announced(store: Store, issue: Issue) -> None:
    """Record the issue's posts (shown and more) as announced, and its time; no commit."""
    announced_store.record(store, issue.newsletter_id, issue.all_post_ids, issue.id, issue.created)


def baseline(config: Config, store: Store, posts: Sequence[Post], now: datetime) -> int:
    """Mark every post dated up to `now` announced by every newsletter, without sending.

    Commits in its own transaction; returns how many (newsletter, post) marks were added.
    Future-dated posts are left to be announced when their time comes.
    """
    current = [p.id for p in posts if p.date <= now]
    added = 0
    with store.transaction():
        for newsletter in config.newsletters:
            added += announced_store.record(store, newsletter.id, current, "", now)
    log.info(
        "baseline: %d posts marked announced for %d newsletters",
        len(current),
        len(config.newsletters),
    )
    return added
