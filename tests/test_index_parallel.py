"""A first build read on two processes gives, byte for byte, what one process gives."""

from __future__ import annotations

import logging
import marshal
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from content_site import DATA, NOW, Site

from publisher.content import parse
from publisher.content.index import index_site
from publisher.feeds import build_feeds
from publisher.options import RunOptions


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def state(path: Path) -> tuple[list[tuple[str, ...]], dict[int, object]]:
    """The identities and the parse cache's entries as stored (each bucket's values: how
    marshal shares equal values inside a bucket depends on where they were made)."""
    with sqlite3.connect(path) as conn:
        identities = conn.execute("SELECT * FROM post_identity ORDER BY source").fetchall()
        buckets = conn.execute("SELECT bucket, entries FROM parse_buckets").fetchall()
    return identities, {bucket: marshal.loads(entries) for bucket, entries in buckets}


def large_site(site: Site) -> None:
    """Every hostile and edge case of tests/data/content among enough generated posts (in
    every date form: front matter, file name, none) that a first build is split."""
    shutil.copytree(DATA, site.content)
    for n in range(parse.PARALLEL_MIN + 50):
        date = ("date: 2024-06-19 10:00:00 +0900\n", "", "")[n % 3]
        name = f"2023-05-{n % 28 + 1:02d}-기사-{n}.md" if n % 3 == 1 else f"기사-{n:04d}.md"
        categories = f"[분류 {n % 5}, News]" if n % 2 else f"분류 {n % 7}"
        body = f'<p><a href="../{n}/">{n}번째</a> 기사 본문 &amp; <img src="img/{n}.png"></p>\n'
        if n % 50 == 7:  # now and then a draft or a broken file among them
            site.write(name, "---\ntitle: 초안\ndraft: true\n---\n" + body)
        elif n % 50 == 21:
            site.write(name, "---\ntitle: [깨진\n---\n" + body)
        else:
            site.write(name, f"---\ntitle: 기사 {n}\n{date}categories: {categories}\n---\n{body}")


def test_a_first_build_on_two_processes_is_the_same_as_on_one(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    large_site(site)
    config = site.config()
    results = {}
    for processes in (1, 2):
        shutil.rmtree(site.root / "state", ignore_errors=True)
        shutil.rmtree(site.root / "public", ignore_errors=True)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="publisher.content.parse"):
            index = index_site(config, NOW, RunOptions(processes=processes))
        split = "in 2 processes" in caplog.text
        feeds = build_feeds(config, index.posts, now=NOW, options=RunOptions(processes=processes))
        results[processes] = (
            split,
            index,
            files(site.root / "public"),
            state(site.root / "state" / "publisher.sqlite3"),
            feeds.written,
        )
    (split_one, one, public_one, state_one, written_one) = results[1]
    (split_two, two, public_two, state_two, written_two) = results[2]
    assert (split_one, split_two) == (False, True)
    assert len(one.posts) > parse.PARALLEL_MIN
    assert two.posts == one.posts
    assert [p.date for p in two.posts] == [p.date for p in one.posts]
    assert two.future == one.future
    assert two.problems == one.problems
    assert len([p for p in one.problems if not p.warning]) > 30  # the hostile cases said
    assert public_two == public_one
    assert written_two == written_one
    assert state_two == state_one
    # The next run reads only the twin left out (read until it is kept), and finds the same.
    again = index_site(config, NOW + timedelta(hours=1), RunOptions(processes=2))
    assert again.parsed == 1
    assert again.posts == one.posts


def test_each_new_file_takes_a_second_of_its_own_posted_or_not(site: Site) -> None:
    # Its second is given before the file is read: a draft or a broken file among new posts
    # keeps its place, so no post's date depends on how the files before it turned out.
    site.write("a.md", "---\ntitle: A\n---\nBody\n")
    site.write("b.md", "---\ntitle: B\ndraft: true\n---\nBody\n")
    site.write("c.md", "---\ntitle: [C\n---\nBody\n")
    site.write("d.md", "---\ntitle: D\n---\nBody\n")
    posts = site.index(NOW).posts
    assert [(p.source, p.date) for p in posts] == [
        ("a.md", NOW),
        ("d.md", NOW - timedelta(seconds=3)),
    ]
