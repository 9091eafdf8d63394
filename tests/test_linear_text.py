"""Text that made a pattern backtrack is read in one pass: each input here took minutes (a
time growing with the square of its length, or doubling with each '/') and now takes a
fraction of a second. No clock is read to judge them: a regression would run for minutes,
and a hang guard of two minutes per test (pytest-timeout) turns that into a failure
instead of a stuck suite. What each gives on ordinary text is held by the tests of its
feature."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.content.clean import clean_html
from publisher.content.html import first_paragraph_text
from publisher.content.jekyll import Liquid

pytestmark = pytest.mark.timeout(120)  # a hang guard, not a measure


def liquid(tmp_path: Path) -> Liquid:
    (tmp_path / "_posts").mkdir()
    return Liquid("https://x.kr/", tmp_path, tmp_path / "_posts", "date", lambda _: None)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("<p>" * 300_000, ""),  # was 20 minutes
        ("<p " * 300_000, ""),
        ("<p></p>" * 100_000 + "<p>끝</p>", "끝"),
        ("<p>첫 문단</p>" + "<p>" * 300_000, "첫 문단"),
    ],
    ids=["unclosed-paragraphs", "unended-start-tags", "empty-paragraphs", "first-then-unclosed"],
)
def test_the_first_paragraph_is_found_in_one_pass(body: str, text: str) -> None:
    assert first_paragraph_text(body) == text


@pytest.mark.parametrize(
    ("srcset", "kept"),
    [
        ("a.jpg" + "," * 300_000, 'srcset="https://x.kr/a.jpg"'),  # was 10 minutes
        (
            "a.jpg 2x" + "," * 300_000 + " b.jpg",
            'srcset="https://x.kr/a.jpg 2x, https://x.kr/b.jpg"',
        ),
        (", " * 150_000 + "c.jpg 1x", 'srcset="https://x.kr/c.jpg 1x"'),
    ],
    ids=["commas-after-a-url", "commas-between", "empty-candidates"],
)
def test_a_srcset_is_read_in_one_pass(srcset: str, kept: str) -> None:
    assert kept in clean_html(f'<img src="a.jpg" srcset="{srcset}">', "https://x.kr/")


@pytest.mark.parametrize(
    "text",
    ["{{" * 200_000, "{%" * 200_000, "{{}" * 100_000, "{{ x " * 100_000 + "{% raw %}"],
    ids=["unclosed-outputs", "unclosed-tags", "outputs-closed-by-nothing", "unclosed-then-a-tag"],
)
def test_liquid_that_never_closes_is_read_in_one_pass(tmp_path: Path, text: str) -> None:
    rendered, notes = liquid(tmp_path).render(text)  # was half an hour
    assert rendered == text.removesuffix("{% raw %}")
    assert notes == []


def test_many_liquid_tags_are_each_given_their_line_in_one_pass(tmp_path: Path) -> None:
    rendered, notes = liquid(tmp_path).render("{{ page.x }}\n" * 50_000, line=5)
    assert rendered == "\n" * 50_000
    assert [line for line, _ in notes] == list(range(5, 50_005))


def test_a_post_url_of_many_folders_is_read_in_one_pass(tmp_path: Path) -> None:
    name = "a/" * 500 + "b"  # each '/' doubled the time: 40 of them took a day
    rendered, notes = liquid(tmp_path).render("{% post_url " + name + " %}")
    assert rendered == ""
    assert notes[0][1].startswith(f"'{{% post_url {name[:57]}... %}}' does not name a post")
