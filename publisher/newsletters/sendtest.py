"""`publisher send-test`: one real message to one address, before the readers see it.

The message is what a subscriber of the newsletter would get for its next issue (as
`plan.upcoming_issue` sees it, posts not due yet included), or for one chosen post:
rendered, encoded and handed to the configured delivery (outbox or SMTP) exactly as the
readers' copies are. It goes outside the subscribers' rows: no issue is recorded, no post
is marked announced, no journal row is written; the state file is only read.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from publisher.config import Config, NewsletterConfig
from publisher.content.post import Post
from publisher.delivery import send_one
from publisher.errors import Problem, PublisherError
from publisher.newsletters.message import address, prepare, reader_tokens
from publisher.newsletters.plan import Issue, in_newsletter, upcoming_issue
from publisher.newsletters.render import RenderedIssue, render_issue
from publisher.newsletters.subscribers import check_address
from publisher.newsletters.tokens import load_secret
from publisher.store import scratch_copy
from publisher.store.subscribers import Subscriber, Subscription

log = logging.getLogger(__name__)

# Not a subscriber's id (those start at 1): a test copy never matches a journal row, and
# its unsubscribe and preferences links act for nobody. It links to no archive page (none
# is written for it).
TEST_SUBSCRIBER_ID = 0

# Without the secret, the unsubscribe and preferences links carry this: they show where
# the links lead and act for nobody.
UNSIGNED_TOKEN = "test"  # noqa: S105 (not a secret)

Chosen = Literal["next issue", "post", "latest post"]


@dataclass(frozen=True)
class TestSent:
    """One test message handed to the delivery: what it showed and why, and to whom."""

    rendered: RenderedIssue
    recipient: str
    message_id: str
    chosen: Chosen
    problems: tuple[Problem, ...] = ()


def send_test(
    config: Config,
    posts: Sequence[Post],
    now: datetime,
    to: str,
    *,
    newsletter_id: str | None = None,
    post_source: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> TestSent:
    """Send newsletter `newsletter_id`'s (default: the first one's) next issue, or the post
    whose file is `post_source` (relative to the content folder), to `to`, now.

    `posts` are every post indexed, those not published yet included. Raises
    PublisherError when the address, the newsletter or the post is wrong, or the delivery
    refuses the message.
    """
    newsletter = _newsletter(config, newsletter_id)
    try:
        recipient = check_address(to)
    except ValueError as e:
        raise PublisherError(f"--to: {e}: give one address such as 'me@example.com'") from e
    issue, chosen = _issue(config, newsletter, posts, now, post_source)
    rendered = render_issue(config, issue, posts, archived=False)  # no page is written

    problems: list[Problem] = []
    subscriber = Subscriber(
        id=TEST_SUBSCRIBER_ID,
        email=recipient.email,
        display_email=recipient.display,
        name="",
        status="active",
        subscriptions=(Subscription(newsletter.id, "active", 1, now),),
        created=now,
        changed=now,
    )
    try:
        secret = load_secret(config.email.secret_env, environ)
        tokens = reader_tokens(secret, subscriber, newsletter.id, now, config.email.token_max_age)
    except PublisherError as e:
        problems.append(
            Problem(f"[email] secret_env {config.email.secret_env}", str(e), warning=True)
        )
        tokens = (UNSIGNED_TOKEN, UNSIGNED_TOKEN)
    message = address(prepare(config, rendered), subscriber, *tokens)
    send_one(config.delivery, message, environ)
    log.info("%s: test message %s sent to %s", newsletter.id, message.message_id, to)
    return TestSent(rendered, recipient.display, message.message_id, chosen, tuple(problems))


def _newsletter(config: Config, newsletter_id: str | None) -> NewsletterConfig:
    if newsletter_id is not None:
        return config.newsletter(newsletter_id)  # an unknown id names the known ones
    if not config.newsletters:
        raise PublisherError(
            f"{config.path}: no [[newsletters]] in the config: add one to send a test of it"
        )
    return config.newsletters[0]


def _issue(
    config: Config,
    newsletter: NewsletterConfig,
    posts: Sequence[Post],
    now: datetime,
    post_source: str | None,
) -> tuple[Issue, Chosen]:
    """The test's issue (dated now, with an id of its own) and which posts it shows."""
    test_id = f"{newsletter.id}-test-{now.astimezone(config.site.tz):%Y%m%d%H%M%S}"
    if post_source is not None:
        found = next((p for p in posts if p.source == post_source), None)
        if found is None:
            raise PublisherError(
                f"{config.content.dir / post_source}: not a post publisher can show (not under "
                "[content] dir, no front matter, a draft, or with problems 'publisher check' "
                "lists): choose a post file"
            )
        return Issue(test_id, newsletter.id, (found.id,), now), "post"
    with scratch_copy(config.store.path) as store:
        upcoming = upcoming_issue(config.site.tz, store, newsletter, posts, now)
    if upcoming is not None:
        return Issue(
            test_id, newsletter.id, upcoming.post_ids, now, upcoming.more_ids
        ), "next issue"
    # Nothing waits for it: the newest post it would announce, whatever its age.
    latest = sorted(
        (p for p in posts if p.date <= now and in_newsletter(newsletter, p)),
        key=lambda p: (p.date, p.id),
        reverse=True,
    )
    if not latest:
        raise PublisherError(
            f"newsletter {newsletter.id!r} has no post to show: add a post in its "
            f"categories {newsletter.categories}, or choose one with --post FILE"
        )
    return Issue(test_id, newsletter.id, (latest[0].id,), now), "latest post"
