"""What the store keeps: first-seen dates and ids survive runs, clones and edits; the cache."""

from __future__ import annotations

import marshal
import os
import pickle
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from content_site import NOW, Site

from publisher.content.post import PackedDetails


def test_first_seen_date_and_id_survive_a_second_run(site: Site) -> None:
    site.add_seeds()
    first = site.index(NOW).posts
    later = site.index(NOW + timedelta(hours=5)).posts
    assert [(p.date, p.id, p.url) for p in later] == [(p.date, p.id, p.url) for p in first]
    assert [p.date for p in later] == [NOW, NOW - timedelta(seconds=1)]


def test_posts_first_seen_together_get_a_second_each_in_path_order(site: Site) -> None:
    for name in ("c.md", "a.md", "b.md"):
        site.write(name, "---\ntitle: Breaking\n---\nBody\n")
    site.write("dated.md", "---\ndate: 2024-06-19\n---\nBody\n")
    posts = site.index(NOW).posts
    assert [(p.source, p.date) for p in posts] == [
        ("a.md", NOW),
        ("b.md", NOW - timedelta(seconds=1)),
        ("c.md", NOW - timedelta(seconds=2)),
        ("dated.md", datetime(2024, 6, 18, 15, 0, tzinfo=UTC)),
    ]


def test_first_seen_date_and_id_survive_a_fresh_clone(site: Site) -> None:
    site.add_seeds()
    first = site.index(NOW).posts
    # A fresh clone: same relative paths, new files with new modification times.
    clone = site.root / "clone"
    shutil.copytree(site.content, clone)
    shutil.rmtree(site.content)
    clone.rename(site.content)
    for path in site.content.iterdir():
        os.utime(path, ns=(1_900_000_000_000_000_000, 1_900_000_000_000_000_000))
    later = site.index(NOW + timedelta(days=3))
    assert later.parsed == 2
    assert [(p.date, p.id) for p in later.posts] == [(p.date, p.id) for p in first]


def test_id_survives_an_edit_of_title_date_categories_and_permalink(site: Site) -> None:
    path = site.write("story.md", "---\ntitle: Old title\ncategories: [News]\n---\nBody\n")
    before = site.post("story.md")
    path.write_text(
        "---\ntitle: New title\ndate: 2026-11-21 08:00:00 +0900\ncategories: [Politics]\n"
        "permalink: /moved/\n---\nBody\n",
        encoding="utf-8",
    )
    result = site.index(NOW + timedelta(minutes=5))
    (after,) = result.posts
    assert after.title == "New title"
    assert after.url == "https://newsdao.kr/moved/"
    assert after.id == before.id == "https://newsdao.kr/news/2026/11/22/story/"
    assert [str(p) for p in result.problems] == [
        "content/story.md: the URL changed from https://newsdao.kr/news/2026/11/22/story/ to "
        "https://newsdao.kr/moved/: the post keeps its id, so readers will not see it twice; "
        "give the old URL a redirect"
    ]
    assert result.problems[0].warning
    # Said once: the next run knows the new URL.
    assert site.index(NOW + timedelta(minutes=10)).problems == ()


def test_dateless_post_keeps_its_first_seen_date_after_an_edit(site: Site) -> None:
    path = site.write("story.md", "---\ntitle: Breaking\n---\nBody\n")
    site.index(NOW)
    path.write_text("---\ntitle: Breaking, updated\n---\nMore body\n", encoding="utf-8")
    (post,) = site.index(NOW + timedelta(hours=1)).posts
    assert (post.date, post.date_source, post.title) == (NOW, "first seen", "Breaking, updated")


def test_warm_run_parses_nothing_and_one_change_parses_one(site: Site) -> None:
    site.add_seeds()
    site.add("date-only.md", "categories-list.md")
    assert site.index().parsed == 4
    warm = site.index()
    assert warm.parsed == 0
    assert len(warm.posts) == 4
    path = site.content / "date-only.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("A date without", "Edited"), encoding="utf-8"
    )
    changed = site.index()
    assert changed.parsed == 1
    assert {p.title for p in changed.posts} >= {"Edited a time"}


def test_cached_posts_equal_freshly_parsed_ones(site: Site) -> None:
    site.add_seeds()
    site.add("image-path-table.md", "author-table.md", "excerpt-only-feed.md", "date-updated.md")
    cold = site.index().posts
    warm = site.index().posts
    assert warm == cold
    assert [p.body_html for p in warm] == [p.body_html for p in cold]


def test_cached_posts_decode_their_text_only_when_read(site: Site) -> None:
    site.add_seeds()
    site.index()
    warm, same = site.index().posts, site.index().posts
    post = warm[0]
    # Indexing read only what it needs; the titles, excerpts and bodies wait in the row.
    assert isinstance(post.details, PackedDetails) and not post.details.unpacked
    assert post.title == "북·러 침략 시 상호 지원 협정 체결"
    assert post.details.unpacked
    # The same value as a post decoded whole: equal, hashable, printable, replaceable.
    assert hash(same[1]) == hash(warm[1]) and same[1] == warm[1]
    assert repr(same[0]) == repr(post) and "title='북·러" in repr(post)
    edited = warm[1].with_details(title="고친 제목")
    assert (edited.title, edited.excerpt) == ("고친 제목", warm[1].excerpt)
    assert pickle.loads(pickle.dumps(post)) == post
    with pytest.raises(AttributeError):
        _ = post.no_such_field  # type: ignore[attr-defined]


def test_settings_change_invalidates_the_cache(site: Site) -> None:
    site.add("date-only.md")
    site.index()
    site.url = "https://example.org/"
    result = site.index()
    assert result.parsed == 1
    assert result.posts[0].url.startswith("https://example.org/")


def test_deleted_file_leaves_the_index_and_the_cache(site: Site) -> None:
    site.add("date-only.md", "categories-list.md")
    site.index()
    (site.content / "date-only.md").unlink()
    assert [p.source for p in site.index().posts] == ["categories-list.md"]
    with sqlite3.connect(site.root / "state" / "publisher.sqlite3") as conn:
        blobs = [marshal.loads(b) for (b,) in conn.execute("SELECT entries FROM parse_buckets")]
    assert sorted(source for blob in blobs for source in blob) == ["categories-list.md"]


def test_a_file_deleted_as_another_is_added_leaves_the_cache(site: Site) -> None:
    site.add("date-only.md", "categories-list.md")
    site.index()
    (site.content / "date-only.md").unlink()
    site.write("new.md", "---\ntitle: New\n---\nBody\n")
    assert sorted(p.source for p in site.index().posts) == ["categories-list.md", "new.md"]
    with sqlite3.connect(site.root / "state" / "publisher.sqlite3") as conn:
        blobs = [marshal.loads(b) for (b,) in conn.execute("SELECT entries FROM parse_buckets")]
    assert sorted(source for blob in blobs for source in blob) == ["categories-list.md", "new.md"]


def test_broken_file_is_reported_on_every_run_until_fixed(site: Site) -> None:
    site.add("date-unreadable.md")
    assert len(site.index().problems) == 1
    assert len(site.index().problems) == 1


def test_dry_run_writes_nothing_to_the_store(site: Site) -> None:
    site.add_seeds()
    dry = site.index(NOW, dry_run=True)
    assert [p.date for p in dry.posts] == [NOW, NOW - timedelta(seconds=1)]
    later = site.index(NOW + timedelta(hours=1))
    assert later.posts[0].date == NOW + timedelta(hours=1)


def test_a_dry_run_on_a_new_site_creates_no_state_file(site: Site) -> None:
    site.add_seeds()
    dry = site.index(NOW, dry_run=True)
    assert [p.date for p in dry.posts] == [NOW, NOW - timedelta(seconds=1)]
    assert not (site.root / "state").exists()
    # Once there is a state file, a dry run reads it.
    site.index(NOW)
    later = site.index(NOW + timedelta(hours=1), dry_run=True)
    assert [p.date for p in later.posts] == [NOW, NOW - timedelta(seconds=1)]


TWIN = "---\ntitle: {title}\npermalink: {permalink}\n---\nBody\n"
SAME_URL = (
    "content/b.md: has the same URL as content/a.md (https://newsdao.kr/same/): give one of "
    "them another 'permalink' or 'id'; it is left out until then"
)


def test_a_post_left_out_as_a_twin_is_first_seen_once_it_has_its_own_url(site: Site) -> None:
    site.write("a.md", TWIN.format(title="A", permalink="/same/"))
    b = site.write("b.md", TWIN.format(title="B", permalink="/same/"))
    first = site.index(NOW)
    assert [p.source for p in first.posts] == ["a.md"]
    assert [str(p) for p in first.problems] == [SAME_URL]
    # Left out, it is not cached: read again every run until it is kept.
    again = site.index(NOW + timedelta(minutes=30))
    assert again.parsed == 1
    assert [str(p) for p in again.problems] == [SAME_URL]
    # The way out the message gives.
    b.write_text(TWIN.format(title="B", permalink="/other/"), encoding="utf-8")
    hour_later = NOW + timedelta(hours=1)
    later = site.index(hour_later)
    assert later.problems == ()
    assert [(p.source, p.id, p.url, p.date) for p in later.posts] == [
        ("b.md", "https://newsdao.kr/other/", "https://newsdao.kr/other/", hour_later),
        ("a.md", "https://newsdao.kr/same/", "https://newsdao.kr/same/", NOW),
    ]


def test_a_post_moved_onto_another_url_keeps_its_known_url(site: Site) -> None:
    site.write("a.md", TWIN.format(title="A", permalink="/same/"))
    b = site.write("b.md", TWIN.format(title="B", permalink="/b/"))
    site.index(NOW)
    b.write_text(TWIN.format(title="B", permalink="/same/"), encoding="utf-8")
    # Not published at the new URL: no redirect to give yet.
    moved = site.index(NOW + timedelta(minutes=1))
    assert [str(p) for p in moved.problems] == [SAME_URL]
    b.write_text(TWIN.format(title="B", permalink="/b/"), encoding="utf-8")
    back = site.index(NOW + timedelta(minutes=2))
    assert back.problems == ()
    assert [(p.source, p.id, p.date) for p in back.posts] == [
        ("a.md", "https://newsdao.kr/same/", NOW),
        ("b.md", "https://newsdao.kr/b/", NOW - timedelta(seconds=1)),
    ]


def test_the_first_writer_of_an_identity_wins(tmp_path: Path) -> None:
    from publisher.store import Store
    from publisher.store.posts import Identity, add_identities

    first = Identity("a.md", "https://x.kr/a/", "https://x.kr/a/", NOW)
    second = Identity("a.md", "https://x.kr/b/", "https://x.kr/b/", NOW + timedelta(seconds=5))
    other = Identity("c.md", "https://x.kr/c/", "https://x.kr/c/", NOW)
    with Store.open(tmp_path / "state.sqlite3") as store:
        assert add_identities(store, [first]) == {"a.md": first}
        assert add_identities(store, [second, other]) == {"a.md": first, "c.md": other}
