"""The plain-text part at 72 display columns (a Korean syllable takes two), the subject led by
the newest headline, and the sender's contact line."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from email_helpers import T0, TEMPLATES, email_config, post_at
from wcwidth import width

from publisher.newsletters.plan import Issue
from publisher.newsletters.render import RenderedIssue, render_issue
from publisher.newsletters.templates import wordwrap, wrap_text

KOREAN = (
    "북한과 러시아가 평양에서 열린 정상회담을 통해 새로운 협정을 체결했습니다. 협정에는 외부 "
    "침략 시 서로 지원하는 조항이 담겼고, 러시아는 군사 기술 협력 가능성을 시사했습니다."
)
LONG_URL = (
    "https://newsdao.kr/news/2024/06/19/%EB%B6%81%EB%9F%AC-%ED%98%91%EC%A0%95-%EC%B2%B4%EA%B2%B0/"
)


def test_korean_lines_are_cut_at_72_columns_not_72_characters() -> None:
    lines = wrap_text(KOREAN).split("\n")
    assert len(KOREAN) < 2 * 72 < width(KOREAN)  # 72 characters would be ~110 columns
    assert all(width(line) <= 72 for line in lines)
    # Filled: each line took words while the next one fitted.
    assert [width(line) for line in lines] == [59, 64, 46]
    assert all(width(f"{line} {after.split()[0]}") > 72 for line, after in pairwise(lines))
    assert " ".join(lines) == KOREAN


def test_a_url_is_never_cut_and_a_run_without_spaces_is() -> None:
    text = f"자세한 내용은 {LONG_URL} 에서 확인할 수 있습니다. " + "가" * 50
    lines = wrap_text(text).split("\n")
    assert LONG_URL in lines
    # A syllable takes two columns: 23 more of them fit after the sentence's 25, not 24.
    assert [width(line) for line in lines if line != LONG_URL] == [13, 71, 54]
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrapped_lines_keep_the_indent_of_their_list_item() -> None:
    text = f"1. {KOREAN}\n   {KOREAN}\n\n짧은 줄"
    lines = wrap_text(text).split("\n")
    assert lines[0].startswith("1. 북한과")
    assert all(line.startswith("   ") for line in lines[1:-2])
    assert lines[-2:] == ["", "짧은 줄"]
    assert max(width(line) for line in lines) <= 72


def test_the_wordwrap_filter_counts_columns_too() -> None:
    assert [width(line) for line in wordwrap(KOREAN, 40).split("\n")] == [40, 32, 35, 38, 22]
    assert wordwrap("a " + LONG_URL, 20, wrapstring="|") == "a|" + LONG_URL


def render(tmp_path: Path, count: int, **sections: dict[str, object]) -> RenderedIssue:
    config = email_config(tmp_path, **sections)
    posts = [
        post_at(n, T0 - timedelta(minutes=n), feature_text=f"{KOREAN} {LONG_URL}")
        for n in range(1, count + 1)
    ]
    issue = Issue("breaking-x", "breaking", tuple(p.id for p in posts), T0)
    return render_issue(config, issue, posts)


def test_the_text_part_of_a_korean_digest_fits_72_columns(tmp_path: Path) -> None:
    text = render(tmp_path, 3).text
    # The per-subscriber parts are filled in later; the lines around them fit now.
    wide = [line for line in text.split("\n") if width(line) > 72]
    assert all(line.strip().startswith("https://") for line in wide), wide
    assert "   https://newsdao.kr/news/2024/06/19/post-1/" in text.split("\n")


@pytest.mark.parametrize(
    ("language", "count", "subject"),
    [
        ("ko", 1, "[속보] 북·러 침략 시 상호 지원 협정 체결 1"),
        ("ko", 3, "[뉴스다오 속보] 북·러 침략 시 상호 지원 협정 체결 1 외 2건"),
        ("en", 2, "[뉴스다오 속보] 북·러 침략 시 상호 지원 협정 체결 1 and 1 more"),
    ],
    ids=["alert", "korean-digest", "english-digest"],
)
def test_the_subject_is_led_by_the_newest_headline(
    tmp_path: Path, language: str, count: int, subject: str
) -> None:
    assert render(tmp_path, count, site={"language": language}).subject == subject


def test_labels_copied_before_and_others_existed_still_render(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for f in (f for f in TEMPLATES.iterdir() if f.is_file()):
        text = f.read_text(encoding="utf-8")
        if f.name == "labels.j2":
            text = "\n".join(line for line in text.split("\n") if "and_others" not in line)
        (folder / f.name).write_text(text, encoding="utf-8")
    rendered = render(tmp_path, 2, email={"templates_dir": str(folder)})
    assert rendered.subject == "[뉴스다오 속보] 북·러 침략 시 상호 지원 협정 체결 1 외 1건"


def test_the_contact_line_closes_the_footer_and_a_newsletter_can_have_its_own(
    tmp_path: Path,
) -> None:
    line = "뉴스다오 · 서울특별시 중구 세종대로 110 · news@newsdao.kr"
    rendered = render(tmp_path, 1, email={"contact_line": line})
    assert '<p class="contact"' in rendered.html and line in rendered.html
    assert rendered.text.rstrip("\n").endswith("\nhttps://newsdao.kr/\n" + line)
    own = dict(
        id="breaking",
        name="뉴스다오 속보",
        sender="news@newsdao.kr",
        contact_line="속보팀\n 02-000-0000",  # one line, whatever was typed
    )
    rendered = render(tmp_path, 1, email={"contact_line": line}, newsletters=[own])
    assert rendered.text.rstrip("\n").endswith("\n속보팀 02-000-0000")
    assert line not in rendered.html
    assert "contact" not in render(tmp_path, 1).html
