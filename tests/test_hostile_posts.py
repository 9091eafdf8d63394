"""Hostile posts, one case file each under tests/data/content: every one is a `file:line`
problem for that post only, through `publisher run` and `publisher check`, and the other
posts are still published and announced."""

from __future__ import annotations

import email
import mailbox
import shutil
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result
from content_site import DATA
from delivery_helpers import RUN_AT, SECRET_ENV, make_site

from publisher.cli import cli

# The one good post of make_site(posts=1), and its URL.
GOOD_TITLE = "속보 0: 북·러 침략 시 상호 지원 협정 체결"

# Posts left out: the case file, its line, and the message.
LEFT_OUT = [
    (
        "date-impossible-day.md",
        3,
        "front matter: '2024-02-30' is not a date any calendar has (day is out of range for "
        "month): write a real day and time, such as '2024-06-19 14:30:00 +09:00'",
    ),
    (
        "date-impossible-day-quoted.md",
        3,
        "'date': cannot read the date '2024-02-30 10:00:00 +0900': write it as '2024-06-19', "
        "'2024-06-19 14:30:00 +0900' or ISO 8601 '2024-06-19T14:30:00+09:00'",
    ),
    (
        "date-offset-beyond-a-day.md",
        3,
        "front matter: '2024-06-19 10:00:00 +25:00' is not a date any calendar has (its "
        "offset is a day or more): write a real day and time, such as "
        "'2024-06-19 14:30:00 +09:00'",
    ),
    (
        "date-offset-beyond-a-day-jekyll.md",
        3,
        "'date': cannot read the date '2024-06-19 10:00:00 +2500': its offset from UTC is a "
        "day or more; write one between -23:59 and +23:59, such as '2024-06-19 14:30:00 +0900'",
    ),
    (
        "date-tagged-timestamp-text.md",
        3,
        "front matter: 'next tuesday' is not a date any calendar has (not a date at all): "
        "write a real day and time, such as '2024-06-19 14:30:00 +09:00'",
    ),
    (
        "date-tagged-timestamp-impossible.md",
        3,
        "front matter: '2024-13-01' is not a date any calendar has (month must be in 1..12): "
        "write a real day and time, such as '2024-06-19 14:30:00 +09:00'",
    ),
    (
        "date-year-zero.md",
        3,
        "front matter: '0000-01-01' is not a date any calendar has (year 0 is out of range): "
        "write a real day and time, such as '2024-06-19 14:30:00 +09:00'",
    ),
    (
        "date-a-number.md",
        3,
        "'date': expected a date such as '2024-06-19' or '2024-06-19 14:30:00 +0900', got "
        "20240619: write it in one of those forms",
    ),
    (
        "date-after-year-9998.md",
        4,
        "'last_modified_at': date out of range: '9999-12-31T23:59:59+09:00' is after the year "
        "9998: fix the year",
    ),
    (
        "last-modified-impossible-day.md",
        4,
        "front matter: '2024-06-31' is not a date any calendar has (day is out of range for "
        "month): write a real day and time, such as '2024-06-19 14:30:00 +09:00'",
    ),
    (
        "number-past-the-digit-limit.md",
        2,
        "front matter: cannot read '9999999999999999999999999999999999999999…' as a whole "
        "number (Exceeds the limit (4300 digits) for integer string conversion: value has "
        "5000 di…): fix it, or quote it to keep it as text",
    ),
    (
        "number-hex-past-the-digit-limit.md",
        3,
        "front matter: cannot read '0xffffffffffffffffffffffffffffffffffffff…' as a whole "
        "number (more than 4,300 digits): fix it, or quote it to keep it as text",
    ),
    (
        "number-base-60-past-the-digit-limit.md",
        3,
        "front matter: cannot read '59:59:59:59:59:59:59:59:59:59:59:59:59:5…' as a whole "
        "number (more than 4,300 digits): fix it, or quote it to keep it as text",
    ),
    (
        "front-matter-nested-too-deep.md",
        3,
        "front matter: lists and tables nest more than 32 levels inside each other here: "
        "write the value flatter",
    ),
    (
        "draft-unclear.md",
        3,
        "'draft' must be true or false (or yes/no, on/off, 1/0), got 'maybe': the post is "
        "held back until it says which; fix it",
    ),
    (
        "published-a-list.md",
        3,
        "'published' must be true or false (or yes/no, on/off, 1/0), got [False]: the post "
        "is held back until it says which; fix it",
    ),
    (
        "title-a-list.md",
        2,
        "'title' must be text, got ['북한', '러시아']: write it as one line of text",
    ),
    (
        "categories-nested.md",
        3,
        "'categories' must be a list of words or a space-separated string, got "
        "[['News', '정치'], '속보']: write it as [News, 정치] or 'News 정치'",
    ),
    (
        "yaml-unknown-tag.md",
        2,
        "front matter: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not one "
        "front matter may use: remove it",
    ),
    (
        "yaml-alias-bomb.md",
        2,
        "front matter: its aliases (*name) stand for 102,908,577 values, for 29 written (at "
        "most 4 times as many may be): write the values out, or use fewer aliases",
    ),
    (
        "yaml-alias-loop.md",
        3,
        "front matter: an alias refers to the value it is part of (its own anchor): write the "
        "value out instead",
    ),
    (
        "permalink-javascript.md",
        3,
        "'permalink': javascript: links are not web links: the post is left out until its URL "
        "is a page of the site",
    ),
    (
        "permalink-javascript-disguised.md",
        3,
        "'permalink': javascript: links are not web links: the post is left out until its URL "
        "is a page of the site",
    ),
    (
        "permalink-file.md",
        3,
        "'permalink': file: links are not web links: the post is left out until its URL is a "
        "page of the site",
    ),
    (
        "permalink-other-site.md",
        3,
        "'permalink': 'https://evil.example/phish/' leaves the site (https://newsdao.kr/): the "
        "post is left out until its URL is a page of the site",
    ),
    (
        "body-nested-too-deep.html",
        1,
        "the body nests 300 HTML elements inside each other, more than 256: the post is left "
        "out; close the elements it opens (a missing </div>?)",
    ),
    (
        "body-stray-end-tags.html",
        1,
        "the body nests 300 HTML elements inside each other, more than 256: the post is left "
        "out; close the elements it opens (a missing </div>?)",
    ),
]

# Posts published without a piece: the case file, its line, and the message.
WITHOUT_A_PIECE = [
    (
        "image-javascript.md",
        3,
        "'image': javascript: links are not web links: the post goes out without an image; "
        "fix its URL",
    ),
    (
        "image-entity-disguised.md",
        3,
        "'image': javascript: links are not web links: the post goes out without an image; "
        "fix its URL",
    ),
    (
        "image-unparseable.md",
        3,
        "'image': 'https://[::1/photo.jpg' cannot be read as a URL (Invalid IPv6 URL): the "
        "post goes out without an image; fix its URL",
    ),
    (
        "image-port-out-of-range.md",
        3,
        "'image': 'https://newsdao.kr:99999/a.jpg' cannot be read as a URL (Port out of range "
        "0-65535): the post goes out without an image; fix its URL",
    ),
    (
        "image-backslash.md",
        3,
        "'image': 'https://evil.example\\\\@newsdao.kr/a.jpg' holds a backslash, which some "
        "readers take as '/' and others do not (another host for some): write '/', or %5C for "
        "a backslash: the post goes out without an image; fix its URL",
    ),
    (
        "author-uri-javascript.md",
        3,
        "the author's uri: javascript: links are not web links: it is left out; fix it",
    ),
]


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args], env=SECRET_ENV)


def hostile_site(tmp_path: Path, case: str) -> Path:
    """A site with one good post in 'News', one subscriber, and the case file beside it."""
    config = make_site(tmp_path, subscribers=1, posts=1)
    shutil.copy(DATA / case, tmp_path / "content" / case)
    return config


def feed_titles(root: Path) -> list[str]:
    parsed = feedparser.parse((root / "public" / "atom.xml").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return [e.title for e in parsed.entries]


def emails(root: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(root / "outbox", create=False)
    found = []
    for key in box.keys():  # noqa: SIM118 (a Maildir's keys are its files)
        found.append(email.message_from_bytes(box.get_bytes(key), policy=default))
    return found


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize(("case", "line", "message"), LEFT_OUT, ids=[c[0] for c in LEFT_OUT])
def test_a_bad_post_is_left_out_and_the_others_go_out(
    tmp_path: Path, case: str, line: int, message: str
) -> None:
    config = hostile_site(tmp_path, case)
    run = invoke(config, "run", "--now", RUN_AT)
    check = invoke(config, "check", "--now", RUN_AT)

    expected = f"content/{case}:{line}: {message}"
    assert run.exit_code == 1, run.output
    assert run.stderr.splitlines() == [expected]
    assert feed_titles(tmp_path) == [GOOD_TITLE]
    (sent,) = emails(tmp_path)
    assert GOOD_TITLE in text_of(sent)
    assert check.exit_code == 1
    assert expected in check.stderr.splitlines()


@pytest.mark.parametrize(
    ("case", "line", "message"), WITHOUT_A_PIECE, ids=[c[0] for c in WITHOUT_A_PIECE]
)
def test_a_post_with_an_unusable_link_goes_out_without_it(
    tmp_path: Path, case: str, line: int, message: str
) -> None:
    config = hostile_site(tmp_path, case)
    run = invoke(config, "run", "--now", RUN_AT)
    check = invoke(config, "check", "--now", RUN_AT)

    expected = f"content/{case}:{line}: {message}"
    assert run.exit_code == 1, run.output
    assert run.stderr.splitlines() == [expected]
    assert len(feed_titles(tmp_path)) == 2
    for name in ("atom.xml", "rss.xml", "feed.json"):
        published = (tmp_path / "public" / name).read_text(encoding="utf-8").lower()
        assert "javascript:" not in published and "[::1" not in published
        assert "99999" not in published and "evil.example" not in published
    (sent,) = emails(tmp_path)  # one issue announces both posts
    assert GOOD_TITLE in text_of(sent)
    html = sent.get_body(("html",))
    assert html is not None
    assert "javascript:" not in str(html.get_content()).lower()
    assert check.exit_code == 1
    assert expected in check.stderr.splitlines()


@pytest.mark.parametrize(
    "case",
    ["title-empty.md", "title-markup-only.md", "title-invisible.md", "title-blank-letters.md"],
)
def test_a_post_without_a_title_is_in_the_feeds_but_announced_only_once_titled(
    tmp_path: Path, case: str
) -> None:
    config = hostile_site(tmp_path, case)
    first = invoke(config, "run", "--now", RUN_AT)
    in_feeds = feed_titles(tmp_path)
    announced = [str(m["Subject"]) for m in emails(tmp_path)]
    check = invoke(config, "check", "--now", RUN_AT)
    post = tmp_path / "content" / case
    post.write_text(
        post.read_text(encoding="utf-8").replace(
            post.read_text().splitlines()[1], "title: 이제 제목"
        ),
        encoding="utf-8",
    )
    titled = invoke(config, "run", "--now", "2024-06-19T02:01:00+00:00")

    name = case.removesuffix(".md").replace("-", " ").title()
    expected = (
        f"content/{case}:2: the post has no title: feeds show it as {name!r}, and no "
        "newsletter announces it until it has one; add 'title: ...' to its front matter"
    )
    assert first.exit_code == 1
    assert first.stderr.splitlines() == [expected]
    assert in_feeds == [name, GOOD_TITLE]
    assert announced == ["[속보] 속보 0: 북·러 침략 시 상호 지원 협정 체결"]
    assert check.exit_code == 1 and expected in check.stderr.splitlines()
    assert titled.exit_code == 0, titled.output
    assert feed_titles(tmp_path) == ["이제 제목", GOOD_TITLE]
    subjects = sorted(str(m["Subject"]) for m in emails(tmp_path))
    assert subjects == ["[속보] 속보 0: 북·러 침략 시 상호 지원 협정 체결", "[속보] 이제 제목"]
