"""A build renders only the feed files whose inputs or on-disk state changed since the last one.

Whether a file was rendered shows in two places: `report.written` (it was rendered and its
bytes differed) and a post's body (read and cleaned only when one of its feeds is rendered).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import lxml.etree
import pytest
from factories import make_config, make_post
from feeds_corpus import T0, hostile_config, hostile_posts

from publisher.config import Config
from publisher.content.post import Body, Image, Post
from publisher.feeds import build_feeds
from publisher.options import RunOptions
from publisher.store import Store
from publisher.store.fingerprints import load_fingerprints

NEWS = "categories/news"


def site(tmp_path: Path, **feeds: object) -> Config:
    return make_config(tmp_path, feeds={"output_dir": str(tmp_path / "out"), **feeds})


def file_post(tmp_path: Path, n: int, text: str, **fields: object) -> Post:
    """A post whose body is read from a file, as the indexer makes them (file left if same)."""
    path = tmp_path / "content" / f"post-{n}.html"
    path.parent.mkdir(exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return make_post(n=n, body=Body("html", path=str(path)), **fields)


def two_posts(tmp_path: Path) -> list[Post]:
    """A 'News' post and a newer '정치' post, bodies in files (fresh values each call)."""
    return [
        file_post(tmp_path, 2, "<p>정치 본문</p>", categories=("정치",),
                  date=T0 + timedelta(hours=1), updated=T0 + timedelta(hours=1)),
        file_post(tmp_path, 1, "<p>뉴스 본문</p>", categories=("News",)),
    ]  # fmt: skip


def written(tmp_path: Path, report: object) -> list[str]:
    out = tmp_path / "out"
    return sorted(p.relative_to(out).as_posix() for p in report.written)  # type: ignore[attr-defined]


def rendered(post: Post) -> bool:
    return "body_html" in vars(post)


def test_nothing_changed_renders_nothing_and_writes_nothing(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    state = config.store.path
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file() and "content" not in p.parts)
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in files}
    posts = two_posts(tmp_path)  # the same posts, as fresh values

    report = build_feeds(config, posts)

    assert state in files
    assert report.written == ()
    assert len(report.unchanged) == 12  # 3 feeds x 3 formats, stylesheet, snippet, feeds page
    assert not any(rendered(p) for p in posts)
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in files} == before


def test_a_deleted_file_is_written_again_alone(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    (tmp_path / "out" / NEWS / "rss.xml").unlink()
    posts = two_posts(tmp_path)
    report = build_feeds(config, posts)
    assert written(tmp_path, report) == [f"{NEWS}/rss.xml"]
    assert [rendered(p) for p in posts] == [False, True]
    assert build_feeds(config, two_posts(tmp_path)).written == ()


def test_a_hand_edited_file_is_put_back_even_with_its_time_restored(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    path = tmp_path / "out" / NEWS / "atom.xml"
    original = path.read_bytes()
    stat = path.stat()
    path.write_bytes(original.replace("뉴스".encode(), "뉴우".encode()))  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    report = build_feeds(config, two_posts(tmp_path))

    assert written(tmp_path, report) == [f"{NEWS}/atom.xml"]
    assert path.read_bytes() == original


def test_a_post_edit_rewrites_its_feeds_only(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    posts = two_posts(tmp_path)
    edited = [posts[0], posts[1].with_details(title="고친 제목")]
    report = build_feeds(config, edited)
    # The feeds page shows the site feed's latest posts.
    assert written(tmp_path, report) == sorted(
        [f"{NEWS}/{n}" for n in ("atom.xml", "feed.json", "rss.xml")]
        + ["atom.xml", "feed.json", "feeds/index.html", "rss.xml"]
    )
    assert "고친 제목" in (tmp_path / "out" / NEWS / "atom.xml").read_text(encoding="utf-8")


def test_a_body_file_edit_rewrites_its_feeds(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    posts = two_posts(tmp_path)
    Path(posts[1].body.path).write_text("<p>고친 본문</p>", encoding="utf-8")
    report = build_feeds(config, posts)
    assert f"{NEWS}/atom.xml" in written(tmp_path, report)
    assert "고친 본문" in (tmp_path / "out" / NEWS / "rss.xml").read_text(encoding="utf-8")
    assert "categories/정치/atom.xml" not in written(tmp_path, report)


def test_a_new_post_rewrites_the_feeds_it_shows_in(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    new = file_post(tmp_path, 3, "<p>새 글</p>", categories=("News",),
                    date=T0 + timedelta(hours=2), updated=T0 + timedelta(hours=2))  # fmt: skip
    old = two_posts(tmp_path)
    report = build_feeds(config, [new, *old])
    assert written(tmp_path, report) == sorted(
        [f"{NEWS}/{n}" for n in ("atom.xml", "feed.json", "rss.xml")]
        + ["atom.xml", "feed.json", "feeds/index.html", "rss.xml"]
    )
    # The site feed shows the old posts too, so both are cleaned again.
    assert [rendered(p) for p in old] == [True, True]


def test_a_settings_change_rewrites_every_feed(tmp_path: Path) -> None:
    build_feeds(site(tmp_path), two_posts(tmp_path))
    report = build_feeds(site(tmp_path, excerpt_only=True), two_posts(tmp_path))
    assert len(report.written) == 9  # the feeds page shows excerpts anyway
    changed_site = make_config(
        tmp_path,
        site={"description": "새 설명"},
        feeds={"output_dir": str(tmp_path / "out"), "excerpt_only": True},
    )
    assert len(build_feeds(changed_site, two_posts(tmp_path)).written) == 10  # and the page


def test_a_lower_limit_rewrites_the_feeds_it_shortens(tmp_path: Path) -> None:
    build_feeds(site(tmp_path), two_posts(tmp_path))
    report = build_feeds(site(tmp_path, limit=1), two_posts(tmp_path))
    # Only the site feed held two posts; the snippet and stylesheet do not depend on it, the
    # feeds page shows the site feed's posts.
    assert written(tmp_path, report) == ["atom.xml", "feed.json", "feeds/index.html", "rss.xml"]
    rss = (tmp_path / "out" / "rss.xml").read_text(encoding="utf-8")
    assert rss.count("<item>") == 1


def test_an_image_under_static_dir_that_grows_changes_the_enclosure(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "a.jpg").write_bytes(b"x" * 100)
    config = make_config(
        tmp_path, content={"static_dir": str(static)}, feeds={"output_dir": str(tmp_path / "out")}
    )
    posts = [make_post(image=Image("https://newsdao.kr/a.jpg", "image/jpeg"))]
    build_feeds(config, posts)
    (static / "a.jpg").write_bytes(b"x" * 250)
    report = build_feeds(config, posts)
    # Atom and RSS carry the length, in the site's feed and News'; JSON Feed does not.
    assert len(report.written) == 4
    assert 'length="250"' in (tmp_path / "out" / "rss.xml").read_text(encoding="utf-8")


def test_warnings_are_reported_again_when_nothing_is_rendered(tmp_path: Path) -> None:
    config = hostile_config(tmp_path)
    first = build_feeds(config, hostile_posts())
    second = build_feeds(config, hostile_posts())
    assert first.problems
    assert second.written == ()
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems]


def test_a_lost_or_stale_record_only_costs_a_render(tmp_path: Path) -> None:
    config = site(tmp_path)
    build_feeds(config, two_posts(tmp_path))
    out = str(config.feeds.output_dir.resolve())
    damages = [
        "DELETE FROM feed_fingerprints",
        "UPDATE feed_fingerprints SET fingerprint = 'stale'",
        "UPDATE feed_fingerprints SET inode = inode + 1",
    ]
    for damage in damages:
        with Store.open(config.store.path) as store, store.transaction() as conn:
            conn.execute(damage)
        posts = two_posts(tmp_path)
        report = build_feeds(config, posts)
        assert report.written == ()
        assert all(rendered(p) for p in posts)
        with Store.open(config.store.path) as store:
            assert len(load_fingerprints(store, out)) == 10  # the feeds and the page
    config.store.path.unlink()
    posts = two_posts(tmp_path)
    assert build_feeds(config, posts).written == ()
    assert all(rendered(p) for p in posts)


def test_a_dry_run_uses_the_record_but_keeps_none(tmp_path: Path) -> None:
    config = site(tmp_path)
    report = build_feeds(config, two_posts(tmp_path), options=RunOptions(dry_run=True))
    assert len(report.written) == 12
    assert not (tmp_path / "state").exists()
    build_feeds(config, two_posts(tmp_path))
    (tmp_path / "out" / "atom.xml").unlink()
    posts = two_posts(tmp_path)
    report = build_feeds(config, posts, options=RunOptions(dry_run=True))
    assert written(tmp_path, report) == ["atom.xml"]
    assert not (tmp_path / "out" / "atom.xml").exists()


def test_a_record_that_cannot_be_kept_warns_and_the_feeds_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state").write_text("a file where the store's folder should be")
    report = build_feeds(site(tmp_path), two_posts(tmp_path))
    assert len(report.written) == 12
    assert "cannot open the state file" in caplog.text
    assert "cannot keep the feed fingerprints: the next run renders every feed again" in caplog.text


def _not_a_database(path: Path) -> None:
    path.write_bytes(b"\x00garbage, not an SQLite file\xff" * 100)


def _a_damaged_table(path: Path) -> None:
    # Store.open opens this file; the record's queries fail with a raw sqlite3 error.
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE feed_fingerprints (output_dir TEXT, name TEXT)")
    conn.close()


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (_not_a_database, "cannot open the state file (file is not a database): check [store] "
                          "path and that the folder is writable"),
        (_a_damaged_table, "table feed_fingerprints has no column named fingerprint"),
    ],
    ids=["not-a-database", "damaged-table"],
)  # fmt: skip
def test_a_state_file_that_cannot_hold_the_record_warns_and_the_feeds_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], None], why: str
) -> None:
    config = site(tmp_path)
    config.store.path.parent.mkdir(parents=True)
    damage(config.store.path)
    report = build_feeds(config, two_posts(tmp_path))
    assert len(report.written) == 12
    atom = lxml.etree.parse(str(tmp_path / "out" / "atom.xml")).getroot()
    assert len(atom.findall("{http://www.w3.org/2005/Atom}entry")) == 2
    assert caplog.messages == [
        f"{config.store.path}: {why}: cannot keep the feed fingerprints: the next run renders "
        "every feed again"
    ]
