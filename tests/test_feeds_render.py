"""Posts rendered for feeds in two processes give the same items and bytes as in one."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_config, make_post
from feeds_corpus import hostile_config, hostile_posts

from publisher.config import Config
from publisher.content.post import Post
from publisher.feeds import build_feeds, render
from publisher.feeds.model import select_posts
from publisher.feeds.render import Rendered, render_posts


def rendered(config: Config, posts: list[Post], processes: int) -> Rendered:
    return render_posts(config, select_posts(config, posts), posts, processes=processes)


def test_two_processes_render_what_one_does(tmp_path: Path) -> None:
    config, posts = hostile_config(tmp_path), hostile_posts()
    one = rendered(config, posts, 1)
    two = rendered(config, posts, 2)
    assert len(one.items) == len(posts) and set(one.entries) == {"atom", "rss", "json"}
    assert all(len(entries) == len(posts) for entries in one.entries.values())
    assert two.items == one.items
    assert two.entries == one.entries


def test_a_share_too_large_for_the_shared_memory_comes_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, posts = hostile_config(tmp_path), hostile_posts()
    monkeypatch.setattr(render, "_BUFFER_PER_POST", 16)  # no share fits: the pipe carries it
    assert rendered(config, posts, 2) == rendered(config, posts, 1)


def test_a_large_site_writes_the_same_feeds_from_two_processes_as_from_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More shown posts than PARALLEL_MIN: a build on a machine with two CPUs forks.
    if render._cpus() < 2:
        pytest.skip("one CPU: builds never fork here")
    count = render.PARALLEL_MIN + 20
    posts = [
        make_post(
            n=n,
            date=make_post().date - timedelta(minutes=n),
            categories=(f"분류 {n % 7}",),
            body=f'<p><a href="../{n}/">{n}번째</a> 기사 본문 &amp; <img src="img/{n}.png"></p>',
        )
        for n in range(count)
    ]

    def build(folder: str) -> dict[str, bytes]:
        config = make_config(
            tmp_path,
            feeds={"output_dir": str(tmp_path / folder), "limit": count},
            store={"path": str(tmp_path / f"{folder}.sqlite3")},
        )
        build_feeds(config, posts)
        out = tmp_path / folder
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.*")}

    two = build("two")
    monkeypatch.setattr(render, "PARALLEL_MIN", 10**9)
    one = build("one")
    assert two == one
    assert len(one) == 8 * 3 + 2 and one["atom.xml"].count(b"<entry>") == count


def _die() -> int:
    os._exit(3)  # the child process ends at once, as a crash or the OOM killer would end it


def test_a_child_that_dies_leaves_its_share_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config, posts = hostile_config(tmp_path), hostile_posts()
    whole = rendered(config, posts, 1)
    monkeypatch.setattr(render, "_render_adopted", _die)
    assert rendered(config, posts, 2) == whole
    assert "the helper process died" in caplog.text
