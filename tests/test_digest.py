"""Rendering an issue once: alert and digest layouts, escaping, inlined CSS, the size budget."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import lxml.html
import pytest
from email_helpers import BREAKING, T0, email_config, post_at

from publisher.config import Config
from publisher.content.post import Post
from publisher.errors import TemplateError
from publisher.newsletters.plan import Issue, issue_id
from publisher.newsletters.render import (
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_UNSUBSCRIBE,
    RenderedIssue,
    render_issue,
)


def issue_of(posts: list[Post], newsletter: str = "breaking", more: int = 0) -> Issue:
    ids = tuple(p.id for p in posts)
    extra = tuple(f"https://newsdao.kr/extra/{n}/" for n in range(more))
    return Issue(issue_id(newsletter, ids + extra), newsletter, ids, T0, extra)


def render(config: Config, posts: list[Post], more: int = 0) -> RenderedIssue:
    return render_issue(config, issue_of(posts, more=more), posts)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return email_config(tmp_path)


def test_one_post_is_an_alert_with_the_label_in_the_subject(config: Config) -> None:
    rendered = render(config, [post_at(1, T0)])
    assert rendered.subject == "[속보] 북·러 침략 시 상호 지원 협정 체결 1"
    doc = lxml.html.document_fromstring(rendered.html)
    assert doc.get("lang") == "ko"
    (hero,) = doc.xpath("//img[contains(@class, 'hero')]")
    assert hero.get("width") == "552"
    assert hero.get("alt") == "북·러 침략 시 상호 지원 협정 체결 1"
    assert "기사 읽기" in rendered.html
    assert "2024년 6월 19일 20:00" in rendered.html  # in Seoul time
    assert "[속보] 북·러 침략 시 상호 지원 협정 체결 1" in rendered.text
    assert rendered.level == "full"


def test_several_posts_make_a_digest_led_by_the_newest_headline(config: Config) -> None:
    posts = [post_at(n, T0 - timedelta(minutes=n)) for n in (1, 2, 3)]
    rendered = render(config, posts, more=2)
    assert rendered.subject == "[뉴스다오 속보] 북·러 침략 시 상호 지원 협정 체결 1 외 4건"
    assert rendered.post_ids == tuple(p.id for p in posts)
    # "and N more" leads to the issue's page, which lists every post it announced.
    page = f"https://newsdao.kr/archive/breaking/{rendered.issue.id}.html"
    doc = lxml.html.document_fromstring(rendered.html)
    (more,) = doc.find_class("more")
    assert [(a.text, a.get("href")) for a in more.iterfind(".//a")] == [("외 2건 더 보기", page)]
    assert f"외 2건 더 보기:\n{page}" in rendered.text
    for post in posts:
        assert post.title in rendered.text


def test_english_labels_for_an_english_site(tmp_path: Path) -> None:
    config = email_config(tmp_path, site={"language": "en-US", "timezone": "UTC"})
    rendered = render(config, [post_at(1, T0), post_at(2, T0)])
    assert rendered.subject == "[뉴스다오 속보] 북·러 침략 시 상호 지원 협정 체결 1 and 1 more"
    assert "June 19, 2024 11:00" in rendered.html
    assert 'lang="en-US"' in rendered.html
    alert = render(config, [post_at(1, T0)])
    assert alert.subject.startswith("[Breaking] ")


def test_html_is_escaped_and_text_is_not(config: Config) -> None:
    post = post_at(
        1, T0, title="<script>alert(1)</script> R&D", excerpt="A < B & C", feature_text=""
    )
    rendered = render(config, [post])
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D" in rendered.html
    assert "A &lt; B &amp; C" in rendered.html
    # The .txt.j2 templates are not escaped (select_autoescape would not catch .html.j2 either).
    assert "<script>alert(1)</script> R&D" in rendered.text
    assert "A < B & C" in rendered.text
    assert "&amp;" not in rendered.text


def test_raw_html_in_feature_text_is_cleaned(config: Config) -> None:
    feature = (
        "## 속보\n\n<script>alert(1)</script><style>p{}</style>"
        '<p onclick="steal()">본문 <a href="javascript:alert(1)">링크</a> '
        '<a href="../more/">더보기</a></p>\n'
    )
    rendered = render(config, [post_at(1, T0, feature_text=feature)])
    summary = rendered.html[rendered.html.index("속보</h2>") :]
    assert "<script" not in rendered.html
    assert "alert(1)" not in rendered.html
    assert "onclick" not in rendered.html
    assert "steal()" not in rendered.html
    assert 'href="https://newsdao.kr/news/2024/06/19/more/"' in summary
    assert "본문" in summary


def test_titles_lose_line_breaks_in_the_subject(config: Config) -> None:
    post = post_at(1, T0, title="속보\r\nBcc: evil@example.com")
    assert render(config, [post]).subject == "[속보] 속보 Bcc: evil@example.com"


def test_css_is_inlined_and_media_queries_stay_in_a_style_block(config: Config) -> None:
    rendered = render(config, [post_at(1, T0), post_at(2, T0)])
    doc = lxml.html.document_fromstring(rendered.html)
    (style,) = doc.xpath("//style")
    assert "@media only screen and (max-width: 620px)" in style.text
    assert "!important" in style.text
    body_style = doc.xpath("//body")[0].get("style")
    assert "Apple SD Gothic Neo" in body_style
    assert "Malgun Gothic" in body_style
    assert "font-size" in doc.xpath("//h2[contains(@class, 'item-title')]")[0].get("style")
    (preheader,) = doc.xpath("//div[contains(@class, 'preheader')]")
    assert "display:none" in preheader.get("style")
    assert doc.xpath("//table[@role='presentation' and @width='600']")


def test_every_url_is_absolute_and_images_have_alt_and_width(config: Config) -> None:
    post = post_at(
        1, T0, feature_text="사진: ![속보](/assets/a.jpg) [링크](../other/)", excerpt="요약"
    )
    rendered = render(config, [post, post_at(2, T0)])
    html = rendered.html.replace(PLACEHOLDER_UNSUBSCRIBE, "https://newsdao.kr/unsubscribe?token=x")
    doc = lxml.html.document_fromstring(html)
    urls = doc.xpath("//a/@href | //img/@src")
    assert urls
    assert all(u.startswith("https://") for u in urls), urls
    assert "https://newsdao.kr/assets/a.jpg" in urls
    for img in doc.xpath("//img[contains(@class, 'thumb') or contains(@class, 'hero')]"):
        assert img.get("alt")
        assert img.get("width", "").isdigit()


def test_placeholders_are_left_for_each_subscriber(config: Config) -> None:
    rendered = render(config, [post_at(1, T0)])
    for body in (rendered.html, rendered.text):
        assert PLACEHOLDER_UNSUBSCRIBE in body
        assert PLACEHOLDER_EMAIL in body


def test_over_budget_falls_back_to_excerpts(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    # feature_text is Markdown: many paragraphs make a long summary.
    long_feature = "\n\n".join(f"문단 {i} " + "가나다라마바사 " * 40 for i in range(30))
    posts = [post_at(n, T0, feature_text=long_feature) for n in range(1, 5)]
    with caplog.at_level(logging.WARNING, logger="publisher.newsletters.render"):
        rendered = render(config, posts)
    assert rendered.level == "excerpts"
    assert rendered.post_ids == tuple(p.id for p in posts)
    assert rendered.html_bytes < config.email.max_html_bytes
    assert "문단 1" not in rendered.html
    assert "over the 100000-byte budget: showing excerpts only" in caplog.text


def test_still_over_budget_shows_fewer_posts(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    long_excerpt = "가나다라마바사아자차카타파하 " * 700  # ~30 KB of UTF-8 per post
    posts = [
        post_at(n, T0 - timedelta(minutes=n), excerpt=long_excerpt, feature_text="")
        for n in range(1, 7)
    ]
    with caplog.at_level(logging.WARNING, logger="publisher.newsletters.render"):
        rendered = render(config, posts, more=1)
    assert rendered.level == "fewer posts"
    assert 1 <= len(rendered.post_ids) < len(posts)
    assert rendered.post_ids == tuple(p.id for p in posts[: len(rendered.post_ids)])
    assert rendered.more == 1 + len(posts) - len(rendered.post_ids)
    assert rendered.html_bytes < config.email.max_html_bytes
    assert f"외 {rendered.more}건 더 보기" in rendered.html
    assert "over budget with every excerpt: showing" in caplog.text
    # No post has a feature text: excerpts only would change nothing, so it is not tried.
    assert "showing excerpts only" not in caplog.text


def test_one_post_over_budget_without_a_feature_text_is_sent_whole(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    long_excerpt = "가나다라마바사아자차카타파하 " * 2500  # ~105 KB of UTF-8
    with caplog.at_level(logging.WARNING, logger="publisher.newsletters.render"):
        rendered = render(config, [post_at(1, T0, excerpt=long_excerpt, feature_text="")])
    assert rendered.level == "full"
    assert rendered.html_bytes > config.email.max_html_bytes
    assert caplog.messages == [
        f"{rendered.issue.id}: the HTML is still over 100000 bytes with one post: sending it anyway"
    ]


def test_a_post_missing_from_the_given_posts_is_an_error(config: Config) -> None:
    issue = issue_of([post_at(1, T0)])
    with pytest.raises(Exception, match="which is not among the posts given"):
        render_issue(config, issue, [post_at(2, T0)])


def test_a_broken_subject_template_names_the_key(tmp_path: Path) -> None:
    config = email_config(tmp_path, [{**BREAKING, "subject_alert": "{{ post.nope }}"}])
    with pytest.raises(TemplateError) as e:
        render(config, [post_at(1, T0)])
    (problem,) = e.value.problems
    assert problem.where == "newsletters[0].subject_alert"
    assert "'nope'" in problem.message


def test_a_site_relative_logo_sits_under_the_site_url_in_emails_as_in_feeds(
    tmp_path: Path,
) -> None:
    # Jekyll-style: '/assets/...' is relative to the site, base path included.
    site = {"url": "https://example.com/blog", "logo": "/assets/img/logo.png"}
    config = email_config(tmp_path, site=site)
    rendered = render(config, [post_at(1, T0)])
    assert '<img class="logo" src="https://example.com/blog/assets/img/logo.png"' in rendered.html
