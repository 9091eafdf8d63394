"""Feeds rendered and written by two processes are the same bytes as by one."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_config, make_post
from feeds_corpus import hostile_config, hostile_posts

from publisher.config import Config
from publisher.content.post import Post
from publisher.feeds import FeedReport, build_feeds, produce
from publisher.feeds.model import FeedPlan


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many builds went the two-process way, on a machine taken to have two CPUs."""
    # Whatever this machine has: with one CPU the fork tests would otherwise test nothing.
    monkeypatch.setattr(produce, "_cpus", lambda: 2)
    count = [0]
    real = produce._in_two

    def counted(*args: object) -> list[produce.Produced]:
        count[0] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(produce, "_in_two", counted)
    return count


def build(
    config: Config, posts: list[Post], monkeypatch: pytest.MonkeyPatch, *, fork: bool
) -> FeedReport:
    # PARALLEL_MIN is the size from which a build forks: 1 forks any build of two feeds.
    monkeypatch.setattr(produce, "PARALLEL_MIN", 1 if fork else 10**9)
    return build_feeds(config, posts)


def test_two_processes_write_what_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    one = build(hostile_config(tmp_path / "one"), hostile_posts(), monkeypatch, fork=False)
    assert forks == [0]
    two = build(hostile_config(tmp_path / "two"), hostile_posts(), monkeypatch, fork=True)
    assert forks == [1]
    assert files(tmp_path / "two" / "public") == files(tmp_path / "one" / "public")
    assert len(two.written) == len(one.written) == 23
    # The child's files are recorded like ours: the next build writes nothing.
    again = build(hostile_config(tmp_path / "two"), hostile_posts(), monkeypatch, fork=True)
    assert again.written == ()


def _die() -> list[produce.Produced]:
    os._exit(3)  # the child process ends at once, as a crash or the OOM killer would end it


def test_a_child_that_dies_leaves_its_feeds_to_the_parent(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    forks: list[int],
) -> None:
    build(hostile_config(tmp_path / "one"), hostile_posts(), monkeypatch, fork=False)
    monkeypatch.setattr(produce, "_produce_adopted", _die)
    report = build(hostile_config(tmp_path / "two"), hostile_posts(), monkeypatch, fork=True)
    assert forks == [1]
    assert "the helper process died" in caplog.text
    assert files(tmp_path / "two" / "public") == files(tmp_path / "one" / "public")
    assert len(report.written) == 23


def test_a_large_site_forks_and_writes_the_same_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    # More shown posts than PARALLEL_MIN: a build on a machine with two CPUs forks.
    count = produce.PARALLEL_MIN + 20
    posts = [
        make_post(
            n=n,
            date=make_post().date - timedelta(minutes=n),
            categories=(f"분류 {n % 7}",),
            body=f'<p><a href="../{n}/">{n}번째</a> 기사 본문 &amp; <img src="img/{n}.png"></p>',
        )
        for n in range(count)
    ]

    def config(folder: str) -> Config:
        return make_config(
            tmp_path,
            feeds={"output_dir": str(tmp_path / folder), "limit": count},
            store={"path": str(tmp_path / f"{folder}.sqlite3")},
        )

    build_feeds(config("two"), posts)
    assert forks == [1]
    # From a thread (an application's pool, `publisher schedule`), a build never forks.
    worker = threading.Thread(target=build_feeds, args=(config("thread"), posts))
    worker.start()
    worker.join()
    assert forks == [1]
    monkeypatch.setattr(produce, "PARALLEL_MIN", 10**9)
    build_feeds(config("one"), posts)
    assert forks == [1]
    one = files(tmp_path / "one")
    assert files(tmp_path / "two") == one == files(tmp_path / "thread")
    assert len(one) == 8 * 3 + 2 and one["atom.xml"].count(b"<entry>") == count


def test_feeds_are_split_in_two_groups_sharing_few_posts() -> None:
    posts = [make_post(n=n) for n in range(8)]

    def plan(slug: str, *ns: int) -> produce.Stale:
        return (FeedPlan(slug, slug, tuple(posts[n] for n in ns)), [])

    site, a, b, c = plan("", 0, 1, 2, 3), plan("a", 0, 1), plan("b", 2, 3), plan("c", 4, 5, 6, 7)
    ours, theirs = produce.split([site, a, b, c])
    assert sorted(f[0].slug for f in ours + theirs) == ["", "a", "b", "c"]
    # The site feed and its two categories in one group, the unrelated one in the other.
    assert {f[0].slug for f in ours} in ({"", "a", "b"}, {"c"})
    assert {f[0].slug for f in theirs} in ({"", "a", "b"}, {"c"})


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1),
        ({"cpu.max": "400000 100000\n"}, 4),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2),
        ({}, None),
    ],
)
def test_a_container_cpu_quota_caps_the_processes(
    tmp_path: Path, files: dict[str, str], cpus: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert produce.cgroup_cpu_quota(tmp_path) == cpus
