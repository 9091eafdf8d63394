"""Feeds rendered and written by two processes are the same bytes as by one."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_config, make_post
from feeds_corpus import hostile_config, hostile_posts

from publisher.config import Config
from publisher.content.post import Post
from publisher.feeds import build_feeds, produce
from publisher.feeds.model import FeedPlan
from publisher.options import RunOptions


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def large_site(count: int) -> list[Post]:
    """More shown posts than PARALLEL_MIN in several categories: a build splits its feeds."""
    return [
        make_post(
            n=n,
            date=make_post().date - timedelta(minutes=n),
            categories=(f"분류 {n % 7}",),
            body=f'<p><a href="../{n}/">{n}번째</a> 기사 본문 &amp; <img src="img/{n}.png"></p>',
        )
        for n in range(count)
    ]


def test_a_build_split_over_two_processes_writes_what_one_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    count = produce.PARALLEL_MIN + 20
    posts = large_site(count)

    def config(folder: str) -> Config:
        return make_config(
            tmp_path,
            feeds={"output_dir": str(tmp_path / folder), "limit": count},
            store={"path": str(tmp_path / f"{folder}.sqlite3")},
        )

    with caplog.at_level(logging.DEBUG, logger="publisher.feeds.produce"):
        two = build_feeds(config("two"), posts, options=RunOptions(processes=2))
    assert "feeds: 2 groups of feeds" in caplog.text  # it did split (whatever this machine has)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="publisher.feeds.produce"):
        one = build_feeds(config("one"), posts, options=RunOptions(processes=1))
    assert "groups of feeds" not in caplog.text
    written = files(tmp_path / "one")
    assert files(tmp_path / "two") == written
    assert len(written) == 8 * 3 + 3 and written["atom.xml"].count(b"<entry>") == count
    assert len(two.written) == len(one.written) == 8 * 3 + 3
    # The other process's files are recorded like this one's: the next build writes nothing.
    assert build_feeds(config("two"), posts, options=RunOptions(processes=2)).written == ()


def test_a_build_in_a_thread_stays_in_one_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An application's thread pool (or `publisher schedule`): never forked, same bytes.
    count = produce.PARALLEL_MIN + 20
    posts = large_site(count)
    config = make_config(tmp_path, feeds={"limit": count})
    with caplog.at_level(logging.DEBUG, logger="publisher.feeds.produce"):
        split = {"options": RunOptions(processes=2)}
        worker = threading.Thread(target=build_feeds, args=(config, posts), kwargs=split)
        worker.start()
        worker.join()
    assert "groups of feeds" not in caplog.text
    assert (tmp_path / "public" / "atom.xml").read_bytes().count(b"<entry>") == count


def test_the_hostile_corpus_is_the_same_split_or_not(tmp_path: Path) -> None:
    one = build_feeds(
        hostile_config(tmp_path / "one"), hostile_posts(), options=RunOptions(processes=1)
    )
    two = build_feeds(
        hostile_config(tmp_path / "two"), hostile_posts(), options=RunOptions(processes=2)
    )
    assert files(tmp_path / "two" / "public") == files(tmp_path / "one" / "public")
    assert len(two.written) == len(one.written) == 24


def test_feeds_are_split_in_two_groups_sharing_few_posts() -> None:
    posts = [make_post(n=n) for n in range(8)]

    def plan(slug: str, *ns: int) -> produce.Stale:
        return (FeedPlan(slug, slug, tuple(posts[n] for n in ns)), [])

    site, a, b, c = plan("", 0, 1, 2, 3), plan("a", 0, 1), plan("b", 2, 3), plan("c", 4, 5, 6, 7)
    ours, theirs = produce.split([site, a, b, c], 2)
    assert sorted(f[0].slug for f in ours + theirs) == ["", "a", "b", "c"]
    # The site feed and its two categories in one group, the unrelated one in the other.
    assert {f[0].slug for f in ours} in ({"", "a", "b"}, {"c"})
    assert {f[0].slug for f in theirs} in ({"", "a", "b"}, {"c"})
