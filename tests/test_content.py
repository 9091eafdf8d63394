"""The indexer settles every field of a post the way the issue and Jekyll say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from content_site import DATA, NOW, Site

from publisher.content.clean import clean_html
from publisher.content.index import index_site

KST = timezone(timedelta(hours=9))


def test_seeds_are_indexed_with_every_field(site: Site) -> None:
    site.add_seeds()
    result = site.index()
    assert result.problems == ()
    assert [p.source for p in result.posts] == [
        "000_a8db389672184cad.txt",
        "001_082059b6dc4458d0.txt",
    ]
    first, second = result.posts
    assert first.title == "북·러 침략 시 상호 지원 협정 체결"
    assert first.date == NOW and first.date_source == "first seen"
    assert first.categories == ("News",)
    assert first.url == "https://newsdao.kr/news/2026/11/22/000_a8db389672184cad/"
    assert first.id == first.url
    assert first.excerpt.startswith("북한과 러시아가 평양에서")
    assert first.body_format == "html"
    assert first.image is not None
    assert first.image.url == "https://newsdao.kr/res/images/meta/newsdao_breakingnews.jpg"
    assert first.image.mime_type == "image/jpeg"
    # The second seed: a site-relative image and Markdown inside folded feature_text.
    assert second.image is not None
    assert second.image.url == "https://newsdao.kr/assets/img/newsdao_breakingnews.jpg"
    assert second.feature_html.startswith("<h2>adskorea 실시간 뉴스 속보입니다.</h2>")
    assert second.feature_text.startswith('adskorea 실시간 뉴스 속보입니다. "북한-러시아')
    # As published: the feeds clean the body, making its URLs absolute.
    content = clean_html(second.body_html, second.url)
    assert 'src="https://newsdao.kr/assets/img/newsdao_breakingnews.jpg"' in content
    assert '<h2 data-ke-size="size26">' in content


@pytest.mark.parametrize(
    ("case", "expected", "source"),
    [
        ("date-yaml-datetime.md", datetime(2024, 6, 19, 14, 30, tzinfo=KST), "front matter"),
        ("date-jekyll-string.md", datetime(2024, 6, 19, 14, 30, tzinfo=KST), "front matter"),
        ("date-rfc822.md", datetime(2024, 6, 19, 14, 30, tzinfo=KST), "front matter"),
        ("date-iso8601-utc.md", datetime(2024, 6, 19, 5, 30, tzinfo=UTC), "front matter"),
        ("date-only.md", datetime(2024, 6, 19, 0, 0, tzinfo=KST), "front matter"),
        ("date-naive.md", datetime(2024, 6, 19, 14, 30, tzinfo=KST), "front matter"),
        ("2024-06-19-date-from-file-name.md", datetime(2024, 6, 19, tzinfo=KST), "file name"),
        ("date-none.md", NOW, "first seen"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_dates(site: Site, case: str, expected: datetime, source: str) -> None:
    site.add(case)
    post = site.post(case)
    assert post.date == expected
    assert post.date.tzinfo is not None
    assert post.date_source == source
    assert post.updated == post.date


def test_update_time_from_last_modified_at(site: Site) -> None:
    site.add("date-updated.md")
    post = site.post("date-updated.md")
    assert post.updated == datetime(2024, 6, 20, 9, 0, tzinfo=KST)


def test_unreadable_date_is_an_error_for_that_post_only(site: Site) -> None:
    site.add("date-unreadable.md", "date-only.md")
    result = site.index()
    assert [p.source for p in result.posts] == ["date-only.md"]
    assert [str(p) for p in result.problems] == [
        "content/date-unreadable.md:4: 'date': cannot read the date 'next tuesday': write it as "
        "'2024-06-19', '2024-06-19 14:30:00 +0900' or ISO 8601 '2024-06-19T14:30:00+09:00'"
    ]


UNPUBLISHED = [
    "draft-true.md",
    "published-false.md",
    # YAML reads only the unquoted words as booleans: a quoted one, a number, any case too
    "draft-yes-quoted.md",
    "draft-one.md",
    "draft-true-capitals.md",
    "draft-on.md",
    "published-false-quoted.md",
    "published-zero.md",
    "published-no-quoted.md",
    "published-off.md",
]


@pytest.mark.parametrize("case", UNPUBLISHED)
def test_unpublished_posts_are_left_out(site: Site, case: str) -> None:
    site.add(case, "date-only.md")
    result = site.index()
    assert [p.source for p in result.posts] == ["date-only.md"]
    assert result.problems == ()


def test_a_post_that_says_it_is_no_draft_is_published(site: Site) -> None:
    site.add("draft-false-quoted.md")
    result = site.index()
    assert [p.title for p in result.posts] == ["공개"]
    assert result.problems == ()


def test_future_post_appears_once_its_time_has_come(site: Site) -> None:
    site.add("future.md")
    before = site.index(datetime(2029, 12, 31, 23, 59, 59, tzinfo=KST))
    assert before.posts == () and [p.source for p in before.future] == ["future.md"]
    after = site.index(datetime(2030, 1, 1, 9, 0, tzinfo=KST))
    assert [p.source for p in after.posts] == ["future.md"]


def test_drafts_folder_only_with_drafts(site: Site) -> None:
    site.add("_drafts/a-draft.md", "date-only.md")
    assert [p.source for p in site.index().posts] == ["date-only.md"]
    with_drafts = site.index(drafts=True)
    assert sorted(p.source for p in with_drafts.posts) == ["_drafts/a-draft.md", "date-only.md"]


def test_hidden_files_and_files_without_front_matter_are_skipped(site: Site) -> None:
    site.add(".hidden-post.md", "no-front-matter.txt", "date-only.md")
    result = site.index()
    assert [p.source for p in result.posts] == ["date-only.md"]
    assert result.problems == ()


def test_nested_folders_are_read(site: Site) -> None:
    site.add("date-only.md", into="2024/06")
    assert [p.source for p in site.index().posts] == ["2024/06/date-only.md"]


@pytest.mark.parametrize(
    ("case", "categories", "tags"),
    [
        ("categories-list.md", ("News", "정치"), ("north-korea", "russia")),
        ("categories-space-separated.md", ("updates", "jekyll"), ("one", "two")),
        ("category-single.md", ("Breaking", "News"), ()),
    ],
)
def test_categories_and_tags(
    site: Site, case: str, categories: tuple[str, ...], tags: tuple[str, ...]
) -> None:
    site.add(case)
    post = site.post(case)
    assert post.categories == categories
    assert post.tags == tags


@pytest.mark.parametrize(
    ("case", "excerpt"),
    [
        ("excerpt-explicit-empty.md", ""),
        ("excerpt-description.md", "The description stands in for the excerpt."),
        ("excerpt-summary.md", "The summary stands in for the excerpt."),
        ("excerpt-from-markdown-body.md", "The first paragraph, with a link that spans two lines."),
    ],
)
def test_excerpts(site: Site, case: str, excerpt: str) -> None:
    site.add(case)
    assert site.post(case).excerpt == excerpt


def test_excerpt_from_html_body_is_plain_text_cut_on_a_word(site: Site) -> None:
    site.content_extra = "excerpt_length = 60"
    site.add("excerpt-from-html-body.html")
    excerpt = site.post("excerpt-from-html-body.html").excerpt
    assert excerpt.startswith("북한과 러시아가 새로운 협정을 체결하여")
    assert "<" not in excerpt and "&amp;" not in excerpt
    assert len(excerpt) <= 60 and excerpt.endswith("…")
    assert not excerpt[:-1].endswith(" ")


def test_feature_text_markdown_is_rendered(site: Site) -> None:
    site.add("feature-text-markdown.md")
    post = site.post("feature-text-markdown.md")
    assert post.feature_html == (
        "<h2>adskorea 실시간 뉴스 속보입니다.</h2>\n"
        "<p>&quot;북한-러시아&quot; <strong>조약</strong> 체결.</p>\n"
    )
    assert post.feature_text == 'adskorea 실시간 뉴스 속보입니다. "북한-러시아" 조약 체결.'


@pytest.mark.parametrize(
    ("case", "url", "mime"),
    [
        (
            "image-site-relative.md",
            "https://newsdao.kr/news/assets/img/newsdao_breakingnews.jpg",
            "image/jpeg",
        ),
        ("image-protocol-relative.md", "https://cdn.newsdao.kr/img/photo.png", "image/png"),
        ("image-path-table.md", "https://newsdao.kr/news/assets/img/photo.webp", "image/webp"),
        (
            "image-non-ascii.md",
            "https://newsdao.kr/news/assets/img/%EC%A0%95%EC%83%81%ED%9A%8C%EB%8B%B4%20"
            "%EC%82%AC%EC%A7%84.jpg",
            "image/jpeg",
        ),
    ],
)
def test_images_are_absolute_under_the_base_path(
    site: Site, case: str, url: str, mime: str
) -> None:
    site.url = "https://newsdao.kr/news/"
    site.add(case)
    image = site.post(case).image
    assert image is not None
    assert (image.url, image.mime_type) == (url, mime)


def test_image_length_from_table(site: Site) -> None:
    site.add("image-with-length.md")
    image = site.post("image-with-length.md").image
    assert image is not None and image.length == 48213


def test_image_alt_from_table(site: Site) -> None:
    site.add("image-path-table.md")
    image = site.post("image-path-table.md").image
    assert image is not None and image.alt == "평양 정상회담"


def test_authors(site: Site) -> None:
    site.content_extra = 'authors_file = "authors.yml"'
    site.add("author-string.md", "author-table.md", "author-key.md", "date-only.md")
    (site.root / "authors.yml").write_bytes((DATA / "authors.yml").read_bytes())
    result = site.index()
    by_source = {p.source: p.author for p in result.posts}
    assert by_source["author-string.md"].name == "김기자"
    assert by_source["author-table.md"].email == "lee@newsdao.kr"
    assert by_source["author-table.md"].uri == "https://newsdao.kr/authors/lee/"
    assert by_source["author-key.md"].name == "박기자"
    assert by_source["date-only.md"].name == "뉴스다오"


def test_markdown_body_with_relative_urls_made_absolute(site: Site) -> None:
    site.add("body-markdown-relative-urls.md")
    post = site.post("body-markdown-relative-urls.md")
    assert post.url == "https://newsdao.kr/2024/06/19/body-markdown-relative-urls/"
    html = clean_html(post.body_html, post.url)  # as the feeds publish it
    assert 'href="https://newsdao.kr/2024/06/19/archive/"' in html
    assert 'src="https://newsdao.kr/2024/06/19/body-markdown-relative-urls/chart.png"' in html
    assert 'src="https://newsdao.kr/assets/img/a.jpg"' in html
    assert (
        'srcset="https://newsdao.kr/assets/img/a-2x.jpg 2x, '
        'https://newsdao.kr/2024/06/19/body-markdown-relative-urls/small.jpg 480w"' in html
    )
    assert 'href="https://example.com/x?a=1&amp;b=2"' in html
    assert 'href="mailto:desk@newsdao.kr"' in html


def test_html_body_passes_through_untouched(site: Site) -> None:
    site.add("body-html-untouched.html")
    post = site.post("body-html-untouched.html")
    assert post.body_format == "html"
    assert (
        post.body_html
        == (site.content / "body-html-untouched.html")
        .read_text(encoding="utf-8")
        .split("---\n", 2)[2]
    )


@pytest.mark.parametrize(
    ("pattern", "url"),
    [
        ("/:categories/:year/:month/:day/:title/", "https://newsdao.kr/news/정치/2024/06/19/x/"),
        ("date", "https://newsdao.kr/news/정치/2024/06/19/x.html"),
        ("pretty", "https://newsdao.kr/news/정치/2024/06/19/x/"),
        ("none", "https://newsdao.kr/news/정치/x.html"),
        ("/:year/:i_month/:i_day/:slug", "https://newsdao.kr/2024/6/19/x"),
    ],
)
def test_permalink_patterns(site: Site, pattern: str, url: str) -> None:
    from publisher.content.urls import iri_to_uri

    site.permalink = pattern
    site.write(
        "x.md", "---\ntitle: T\ndate: 2024-06-19 10:00:00 +0900\ncategories: [News, 정치]\n---\nB\n"
    )
    assert site.post("x.md").url == iri_to_uri(url)


def test_permalink_with_base_path_and_korean(site: Site) -> None:
    site.url = "https://example.com/blog"
    site.add("permalink-front-matter.md")
    post = site.post("permalink-front-matter.md")
    assert post.url == "https://example.com/blog/special/%EC%86%8D%EB%B3%B4/"


def test_a_korean_host_is_idna_encoded_and_its_path_percent_encoded(site: Site) -> None:
    site.url = "https://뉴스다오.kr/"
    site.write(
        "idn.md",
        "---\ntitle: T\npermalink: https://뉴스다오.kr/속보/\nimage: https://뉴스다오.kr/사진/a.jpg\n"
        "---\nB\n",
    )
    post = site.post("idn.md")
    assert post.url == "https://xn--vg1b9h503bpmd.kr/%EC%86%8D%EB%B3%B4/"
    assert post.image is not None
    assert post.image.url == "https://xn--vg1b9h503bpmd.kr/%EC%82%AC%EC%A7%84/a.jpg"


def test_id_from_front_matter_is_made_absolute(site: Site) -> None:
    site.add("id-front-matter.md")
    assert site.post("id-front-matter.md").id == "https://newsdao.kr/2024/06/19/legacy-id"


def test_title_from_file_name_like_jekyll(site: Site) -> None:
    site.add("2014-03-02-march-the-second.md")
    post = site.post("2014-03-02-march-the-second.md")
    assert post.title == "March The Second"
    assert post.url == "https://newsdao.kr/news/2014/03/02/march-the-second/"


def test_title_newlines_collapsed_and_plain_form(site: Site) -> None:
    site.add("title-multiline.md")
    post = site.post("title-multiline.md")
    assert post.title_html == "북·러 <em>침략</em> 시 상호 지원 협정 체결"
    assert post.title == "북·러 침략 시 상호 지원 협정 체결"


def test_bom_and_crlf(site: Site) -> None:
    site.add("bom-crlf.md")
    post = site.post("bom-crlf.md")
    assert post.title == "BOM and CRLF"
    assert post.categories == ("News",)
    assert post.body_html == "<p>본문</p>\n"


def test_excerpt_only_feed_option(site: Site) -> None:
    site.add("excerpt-only-feed.md", "date-only.md")
    by_source = {p.source: p for p in site.index().posts}
    assert by_source["excerpt-only-feed.md"].excerpt_only is True
    assert by_source["date-only.md"].excerpt_only is False


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "not-utf8-cp949.md",
            "content/not-utf8-cp949.md:2: the file is not UTF-8 (an EUC-KR/CP949 export?): "
            "convert it, e.g. 'iconv -f cp949 -t utf-8 not-utf8-cp949.md', and save it as UTF-8",
        ),
        (
            "utf-16.md",
            "content/utf-16.md:1: the file is UTF-16 (or another encoding with zero bytes), not "
            "UTF-8: save it as UTF-8 in its editor, or convert it, e.g. "
            "'iconv -f utf-16 -t utf-8 utf-16.md'",
        ),
        (
            "yaml-tab.md",
            "content/yaml-tab.md:5: front matter is not valid YAML (found character that "
            "cannot start any token): fix this line (a tab, an unquoted ': ' or an unclosed "
            "quote are the usual causes) or run 'publisher check'",
        ),
        (
            "yaml-unquoted-colon.md",
            "content/yaml-unquoted-colon.md:2: front matter is not valid YAML (mapping values are "
            "not allowed in this context): fix this line (a tab, an unquoted ': ' or an "
            "unclosed quote are the usual causes) or run 'publisher check'",
        ),
        (
            "front-matter-unclosed.md",
            "content/front-matter-unclosed.md:1: the front matter has no closing '---' line: "
            "add one",
        ),
        (
            "front-matter-not-a-mapping.md",
            "content/front-matter-not-a-mapping.md:2: front matter must be 'key: value' lines, "
            "not a list or a single value: fix it",
        ),
        (
            # Midnight on 0001-01-01 at +09:00 is still year 0 in UTC, which datetime cannot hold.
            "date-out-of-range.md",
            "content/date-out-of-range.md:3: 'date': date out of range: '0001-01-01' falls "
            "outside the years 1 to 9999 in UTC or in the site's time zone (Asia/Seoul): "
            "fix the year",
        ),
        (
            "0001-01-01-file-name-date-out-of-range.md",
            "content/0001-01-01-file-name-date-out-of-range.md:1: file name: date out of range: "
            "'0001-01-01' falls outside the years 1 to 9999 in UTC or in the site's time zone "
            "(Asia/Seoul): fix the year",
        ),
    ],
)
def test_bad_files_are_reported_and_never_stop_the_others(
    site: Site, case: str, message: str
) -> None:
    site.add(case, "date-only.md")
    result = site.index()
    assert [p.source for p in result.posts] == ["date-only.md"]
    assert [str(p) for p in result.problems] == [message]


def test_a_broken_link_is_reported_and_never_stops_the_others(site: Site) -> None:
    site.add("date-only.md")
    (site.content / "news").mkdir()
    (site.content / "news" / "gone.md").symlink_to("../../elsewhere/gone.md")
    result = site.index()
    assert [p.source for p in result.posts] == ["date-only.md"]
    assert [str(p) for p in result.problems] == [
        "content/news/gone.md: the file is a link to '../../elsewhere/gone.md', which does "
        "not exist: fix the link or remove it"
    ]
    assert not result.problems[0].warning


def test_same_url_is_an_error_naming_both_files(site: Site) -> None:
    site.add("duplicate-url-a.md", "duplicate-url-b.md")
    result = site.index()
    assert [p.source for p in result.posts] == ["duplicate-url-a.md"]
    assert [str(p) for p in result.problems] == [
        "content/duplicate-url-b.md: has the same URL as content/duplicate-url-a.md "
        "(https://newsdao.kr/same/): give one of them another 'permalink' or 'id'; "
        "it is left out until then"
    ]


def test_newest_first_and_ties_broken_by_path(site: Site) -> None:
    for name in ("b.md", "a.md", "c.md"):
        site.write(name, "---\ndate: 2024-06-19 10:00:00 +0900\n---\nx\n")
    site.write("new.md", "---\ndate: 2024-06-20 10:00:00 +0900\n---\nx\n")
    assert [p.source for p in site.index().posts] == ["new.md", "a.md", "b.md", "c.md"]


def test_missing_content_folder(site: Site) -> None:
    from publisher.errors import ContentError

    config = site.config()
    site.content.rmdir()
    with pytest.raises(ContentError) as e:
        index_site(config, NOW)
    assert str(e.value) == (
        f"{config.content.dir}: the content folder does not exist: create it or fix [content] dir"
    )


def test_a_missing_authors_file_is_reported_and_posts_still_index(site: Site) -> None:
    site.content_extra = 'authors_file = "authors.yml"'
    site.add("author-key.md")
    result = site.index()
    assert [p.author.name for p in result.posts] == ["park"]
    (problem,) = result.problems
    assert str(problem) == (
        f"{site.root / 'authors.yml'}: cannot read the authors file ([Errno 2] No such file or "
        f"directory: '{site.root / 'authors.yml'}'): fix it or remove [content] authors_file"
    )


def test_links_leading_outside_the_content_folder_are_not_followed(site: Site) -> None:
    site.add("date-only.md")
    outside = site.root / "outside"
    (outside / "more").mkdir(parents=True)
    for name in ("secret.md", "more/secret-2.md"):
        (outside / name).write_text("---\ntitle: 비밀\n---\n<p>비밀</p>\n", encoding="utf-8")
    (site.content / "leak.md").symlink_to(outside / "secret.md")
    (site.content / "leaked-folder").symlink_to(outside)
    (site.content / "photo.jpg").symlink_to(outside / "secret.md")  # not a post: not read
    result = site.index()
    assert [p.source for p in result.posts] == ["date-only.md"]
    assert [str(p) for p in result.problems] == [
        f"content/leak.md: the file is a link to '{outside / 'secret.md'}', outside the "
        "content folder: it is not followed; move what it links to into the content folder, "
        "or remove the link",
        f"content/leaked-folder: the folder is a link to '{outside}', outside the content "
        "folder: it is not followed; move what it links to into the content folder, or remove "
        "the link",
    ]


def test_a_link_back_to_a_folder_it_is_in_is_not_followed(site: Site) -> None:
    site.add("date-only.md", into="news")
    (site.content / "news" / "again").symlink_to(site.content)
    result = site.index()
    assert [p.source for p in result.posts] == ["news/date-only.md"]
    assert [str(p) for p in result.problems] == [
        f"content/news/again: the folder is a link to '{site.content.resolve()}', a folder it "
        "is in: it is not followed (it would be read forever); remove the link"
    ]
