"""Content cleaning for feeds, one case per file under tests/data/feeds/, and URL/slug rules."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from publisher.content.clean import clean_html, one_line, safe_text
from publisher.content.urls import absolute_url, iri_to_uri
from publisher.feeds import category_slug

DATA = Path(__file__).parent / "data" / "feeds"
BASE = "https://newsdao.kr/news/2024/06/19/post/"


def cleaned(case: str) -> str:
    return clean_html((DATA / f"{case}.html").read_bytes().decode("utf-8"), BASE)


def urls(fragment: str) -> list[str]:
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    found = [v for e in root.iter() for k, v in e.attrib.items() if k in ("href", "src", "poster")]
    found += [c.split()[0] for e in root.iter() for c in e.get("srcset", "").split(",") if c]
    return found


def test_scripts_styles_handlers_and_embeds_go() -> None:
    html = cleaned("script-and-style")
    for gone in ("<script", "<style", "injected", "onclick", "javascript:", "style=", "<iframe"):
        assert gone not in html
    assert '<p><a href="https://www.youtube.com/embed/abc?x=1&amp;y=2">영상</a></p>' in html
    assert '<a href="https://newsdao.kr/media/clip.swf">' in html
    assert "<p>끝 문단</p>" in html


def test_comments_go_and_cdata_ends_stay_text() -> None:
    html = cleaned("comments-with-dashes")
    assert "<!--" not in html
    assert "draft" not in html
    assert "IE only" not in html
    assert "본문 -- 대시 두 개와 ]]&gt; 그리고 ]]&gt; 가 들어 있음" in html


def test_control_characters_go() -> None:
    html = cleaned("control-characters")
    assert html == '<p>제어문자가섞인본문입니다   끝</p>\n<p title="ab">속성에도</p>'
    assert safe_text("a\x00b\x1fc\x85d\ufffee\ue000") == "abcde"
    assert one_line("  제목\n\t두 줄\x07 ") == "제목 두 줄"


def test_relative_urls_become_absolute() -> None:
    html = cleaned("relative-urls")
    assert urls(html) == [
        "https://newsdao.kr/news/2024/06/19/other/",
        "https://newsdao.kr/news/2024/06/19/post/#section-2",
        "https://newsdao.kr/news/2024/06/19/post/?page=2&sort=new",
        "https://newsdao.kr/about/",
        "https://cdn.example.com/x.js",
        "mailto:editor@newsdao.kr",
        "https://newsdao.kr/news/2024/06/19/post/images/photo.jpg",
        "https://newsdao.kr/news/2024/06/19/post/notes.html",
        "https://newsdao.kr/news/2024/06/19/post/clip.mp4",
        "https://newsdao.kr/news/2024/06/19/post/poster.jpg",
        "https://newsdao.kr/news/2024/06/19/post/images/photo-2x.jpg",
        "https://newsdao.kr/images/photo-3x.jpg",
    ]
    assert 'cite="https://newsdao.kr/news/2024/06/19/quote/"' in html


def test_non_ascii_urls_are_percent_encoded_once() -> None:
    assert urls(cleaned("non-ascii-urls")) == [
        "https://newsdao.kr/%EB%89%B4%EC%8A%A4/%EC%86%8D%EB%B3%B4%201/",
        "https://xn--3e0b707e.kr/%EA%B2%80%EC%83%89?q=%EB%B6%81%ED%95%9C&page=1",
        "https://newsdao.kr/%EC%82%AC%EC%A7%84/%ED%8F%89%EC%96%91%20%ED%9A%8C%EB%8B%B4.jpg",
        "https://newsdao.kr/search?q=%EB%89%B4%EC%8A%A4&x=1",
    ]


def test_broken_urls_are_percent_encoded_not_raised() -> None:
    # A host IDNA cannot encode (an empty label) and an unclosed IPv6 bracket.
    assert urls(cleaned("broken-urls")) == [
        "https://%ED%95%9C%EA%B5%AD..kr/",
        "https://[::1/%EC%82%AC%EC%A7%84.jpg",
    ]


def test_text_after_an_extra_closing_div_stays() -> None:
    assert cleaned("unbalanced-div") == (
        '<div class="article">\n<p>본문 첫 문단</p>\n</div>\n출처: 뉴스다오\n<p>마지막 문단</p>'
    )
    assert clean_html("<p>x</p></div>\n", BASE) == "<p>x</p>"
    assert clean_html("<p>본문</p></div>\n출처: 뉴스다오\n", BASE) == "<p>본문</p>\n출처: 뉴스다오"
    assert clean_html("앞</div>뒤", BASE) == "앞뒤"


def test_unknown_markup_is_unwrapped_and_styles_dropped() -> None:
    html = cleaned("unknown-markup")
    for gone in ("custom-card", "<svg", "circle", "<math", "o:p", "style="):
        assert gone not in html
    assert "<p>사용자 정의 요소</p>" in html
    assert "<td><b>방문 기간</b></td>" in html


def test_markup_like_text_stays_escaped() -> None:
    html = cleaned("markup-in-text")
    assert "a &lt; b &amp;&amp; c &gt; d" in html
    assert "&lt;/div&gt;" in html


def test_lead_image_goes_first_unless_shown() -> None:
    image = ("https://newsdao.kr/a.jpg?x=1&y=2", "사진 & 설명")
    html = clean_html("<p>본문</p>", BASE, lead_image=image)
    assert html == (
        '<p><img src="https://newsdao.kr/a.jpg?x=1&amp;y=2" alt="사진 &amp; 설명"></p>\n<p>본문</p>'
    )
    shown = clean_html('<p><img src="/a.jpg?x=1&amp;y=2"></p>', BASE, lead_image=image)
    assert shown.count("<img") == 1
    assert clean_html("", BASE, lead_image=image).count("<img") == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.kr/x\"y<z>|{}", "https://a.kr/x%22y%3Cz%3E%7C%7B%7D"),
        ("https://newsdao.kr/a?b=1&c=2", "https://newsdao.kr/a?b=1&c=2"),
        ("https://newsdao.kr/뉴스 1/", "https://newsdao.kr/%EB%89%B4%EC%8A%A4%201/"),
        ("https://newsdao.kr/%EB%89%B4%EC%8A%A4/", "https://newsdao.kr/%EB%89%B4%EC%8A%A4/"),
        ("https://한국.kr/", "https://xn--3e0b707e.kr/"),
        ("https://%ED%95%9C%EA%B5%AD.kr/", "https://xn--3e0b707e.kr/"),
        # What cannot be parsed or IDNA-encoded is percent-encoded whole, never raised.
        ("https://한국..kr/", "https://%ED%95%9C%EA%B5%AD..kr/"),
        ("https://[::1/사진.jpg", "https://[::1/%EC%82%AC%EC%A7%84.jpg"),
    ],
    ids=["not-uri-characters", "ampersand", "korean-path", "already-encoded", "idn",
         "encoded-host", "empty-label",
         "unclosed-ipv6"],
)  # fmt: skip
def test_to_uri(url: str, expected: str) -> None:
    assert iri_to_uri(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("//[::1/사진.jpg", "https://[::1/%EC%82%AC%EC%A7%84.jpg"),
        ("ftp://[::1/자료", "ftp://[::1/%EC%9E%90%EB%A3%8C"),
        ("//한국..kr/a b", "https://%ED%95%9C%EA%B5%AD..kr/a%20b"),
    ],
    ids=["protocol-relative", "other-scheme", "protocol-relative-empty-label"],
)
def test_absolute_uri_of_a_broken_url(url: str, expected: str) -> None:
    assert absolute_url(url, BASE) == expected


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("News", "news"),
        ("Breaking News!", "breaking-news"),
        ("정치", "정치"),
        ("북·러 관계", "북-러-관계"),
        ("ＡＢＣ", "abc"),
        ("C++", "c"),
        ("<특보>", "특보"),
        ("!!!", "c-9a7b006d"),
    ],
    ids=["ascii", "spaces", "korean", "korean-punctuation", "full-width", "symbols", "brackets",
         "no-letters"],
)  # fmt: skip
def test_category_slug(name: str, slug: str) -> None:
    assert category_slug(name) == slug


def test_character_references_to_characters_xml_forbids_go() -> None:
    html = clean_html('<p title="x&#2;">a&#1;b&#xFFFE;c&#11;d &amp; &#9;</p>', BASE)
    assert html == '<p title="x">abcd &amp; \t</p>'
