"""Which posts each newsletter announces, and when: due times, selection, once only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from email_helpers import BREAKING, DAILY, T0, email_config, post_at

from publisher.newsletters.plan import Issue, baseline, issue_id, mark_announced, plan_issues
from publisher.store import Store
from publisher.store import announced as announced_store


def send(store: Store, issue: Issue) -> None:
    with store.transaction():
        mark_announced(store, issue)


def test_breaking_announces_new_posts_in_its_categories_newest_first(
    tmp_path: Path, store: Store
) -> None:
    config = email_config(tmp_path, [BREAKING])
    posts = [
        post_at(1, T0 - timedelta(hours=3)),
        post_at(2, T0 - timedelta(hours=1)),
        post_at(3, T0 - timedelta(hours=2), categories=("Sports",)),
    ]
    (issue,) = plan_issues(config, store, posts, T0)
    assert issue.newsletter_id == "breaking"
    assert issue.post_ids == (posts[1].id, posts[0].id)
    assert issue.created == T0
    assert issue.more == 0
    assert issue.id == issue_id("breaking", issue.post_ids)
    assert issue.id.startswith("breaking-")
    assert len(issue.id) == len("breaking-") + 12


def test_empty_categories_mean_every_post(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [{**BREAKING, "categories": []}])
    posts = [post_at(1, T0, categories=()), post_at(2, T0, categories=("Sports",))]
    (issue,) = plan_issues(config, store, posts, T0)
    assert set(issue.post_ids) == {posts[0].id, posts[1].id}


@pytest.mark.parametrize(
    ("age", "announced"),
    [
        pytest.param(timedelta(hours=23, minutes=59), True, id="23h59m"),
        pytest.param(timedelta(hours=24), True, id="exactly-24h"),
        pytest.param(timedelta(hours=24, seconds=1), False, id="24h1s"),
    ],
)
def test_posts_older_than_max_age_are_never_announced(
    tmp_path: Path, store: Store, age: timedelta, announced: bool
) -> None:
    config = email_config(tmp_path, [BREAKING])
    issues = plan_issues(config, store, [post_at(1, T0 - age)], T0)
    assert bool(issues) is announced


def test_future_posts_wait_for_their_date(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [BREAKING])
    future = post_at(1, T0 + timedelta(minutes=10))
    assert plan_issues(config, store, [future], T0) == ()
    later = T0 + timedelta(minutes=10)
    (issue,) = plan_issues(config, store, [future], later)
    assert issue.post_ids == (future.id,)


def test_each_post_is_announced_once_ever(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [BREAKING])
    first = post_at(1, T0 - timedelta(minutes=5))
    (issue,) = plan_issues(config, store, [first], T0)
    send(store, issue)
    later = T0 + timedelta(minutes=5)
    assert plan_issues(config, store, [first], later) == ()
    second = post_at(2, later - timedelta(minutes=1))
    (next_issue,) = plan_issues(config, store, [first, second], later)
    assert next_issue.post_ids == (second.id,)


def test_planning_writes_nothing(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [BREAKING])
    posts = [post_at(1, T0)]
    assert plan_issues(config, store, posts, T0) == plan_issues(config, store, posts, T0)
    assert announced_store.last_issue(store, "breaking") is None


def test_max_posts_shows_the_newest_and_announces_the_rest_too(
    tmp_path: Path, store: Store
) -> None:
    config = email_config(tmp_path, [{**BREAKING, "max_posts": 2}])
    posts = [post_at(n, T0 - timedelta(minutes=n)) for n in range(1, 6)]
    (issue,) = plan_issues(config, store, posts, T0)
    assert issue.post_ids == (posts[0].id, posts[1].id)
    assert issue.more == 3
    assert issue.more_ids == tuple(p.id for p in posts[2:])
    send(store, issue)
    assert announced_store.announced_ids(store, "breaking") == {p.id for p in posts}
    assert plan_issues(config, store, posts, T0 + timedelta(minutes=1)) == ()


def test_the_daily_digest_is_due_once_after_its_fire_time(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [DAILY])
    # 07:00 in Seoul is 22:00 UTC.
    fire = datetime(2024, 6, 19, 22, 0, tzinfo=UTC)
    night = [post_at(1, fire - timedelta(hours=5)), post_at(2, fire - timedelta(hours=1))]
    (issue,) = plan_issues(config, store, night, fire + timedelta(seconds=20))
    assert issue.post_ids == (night[1].id, night[0].id)
    send(store, issue)
    # A post in the afternoon waits for the next morning instead of making a second digest.
    afternoon = post_at(3, fire + timedelta(hours=8))
    assert (
        plan_issues(config, store, [*night, afternoon], fire + timedelta(hours=8, minutes=5)) == ()
    )
    next_fire = fire + timedelta(days=1)
    assert plan_issues(config, store, [*night, afternoon], next_fire - timedelta(minutes=1)) == ()
    (morning,) = plan_issues(config, store, [*night, afternoon], next_fire + timedelta(minutes=2))
    assert morning.post_ids == (afternoon.id,)


def test_a_due_newsletter_with_nothing_new_sends_nothing(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path)
    assert plan_issues(config, store, [], T0) == ()
    old = post_at(1, T0 - timedelta(days=3))
    assert plan_issues(config, store, [old], T0) == ()


def test_newsletters_announce_independently(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [BREAKING, {**BREAKING, "id": "second"}])
    posts = [post_at(1, T0)]
    first, second = plan_issues(config, store, posts, T0)
    send(store, first)
    (again,) = plan_issues(config, store, posts, T0 + timedelta(minutes=1))
    assert again.newsletter_id == "second"
    assert again.id == second.id


def test_baseline_marks_current_posts_without_sending(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path)
    current = [post_at(1, T0 - timedelta(hours=1)), post_at(2, T0)]
    future = post_at(3, T0 + timedelta(hours=1))
    assert baseline(config, store, [*current, future], T0) == 4  # 2 posts x 2 newsletters
    assert announced_store.announced_ids(store, "daily") == {p.id for p in current}
    assert baseline(config, store, [*current, future], T0) == 0
    (issue,) = plan_issues(config, store, [*current, future], T0 + timedelta(hours=1))
    assert issue.newsletter_id == "breaking"
    assert issue.post_ids == (future.id,)


def test_an_issue_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Issue("x-1", "x", (), datetime(2024, 6, 19))  # noqa: DTZ001
