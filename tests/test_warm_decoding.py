"""A warm run decodes the details of the posts its outputs show, and of no other."""

from __future__ import annotations

from content_site import NOW, Site

from publisher.content.post import PackedDetails
from publisher.feeds import build_feeds

POSTS = 200
CATEGORIES = 4
LIMIT = 20  # [feeds] limit's default: the newest 20 of the site and of each category


def test_a_warm_build_decodes_only_the_posts_its_feeds_show(site: Site) -> None:
    for n in range(POSTS):
        site.write(
            f"2024-01-{n % 28 + 1:02d}-post-{n:03d}.md",
            f"---\ntitle: 기사 {n}\ndate: 2024-01-01 00:00:00 +0900\n"
            f"categories: [분류{n % CATEGORIES}]\nimage: /img/{n}.jpg\n---\n<p>{n}</p>\n",
        )
    config = site.config()
    build_feeds(config, site.index(NOW).posts, now=NOW)  # the first build: everything read
    warm = site.index(NOW)
    assert warm.parsed == 0  # every post from the cache, its details still packed
    built = build_feeds(config, warm.posts, now=NOW)
    assert built.written == ()
    newest = warm.posts[:LIMIT]
    by_category = [
        [p for p in warm.posts if p.categories == (f"분류{c}",)] for c in range(CATEGORIES)
    ]
    shown = {p.source for p in newest} | {p.source for b in by_category for p in b[:LIMIT]}
    decoded = {
        p.source
        for p in warm.posts
        if not isinstance(p.details, PackedDetails) or p.details.unpacked
    }
    assert decoded == shown
    assert len(shown) < POSTS // 2
