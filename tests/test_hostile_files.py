"""Hostile files and names in the content folder (made here: git cannot hold them): a name
that is not UTF-8, a named pipe or a socket where a post would be, a name holding a line
break. Each is one problem naming the file, never a crash or a hang, and the good post is
still published and announced."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from delivery_helpers import RUN_AT, SECRET_ENV, make_site
from test_hostile_posts import GOOD_TITLE, emails, feed_titles, text_of

from publisher.cli import cli

POST = b"---\ntitle: x\ndate: 2024-06-19 10:00:00 +0900\n---\n<p>x</p>\n"
RENAME = "rename it, e.g. 'convmv -f cp949 -t utf-8 --notest NAME'"


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args], env=SECRET_ENV)


def assert_only_the_good_post(root: Path, run: Result, expected: list[str]) -> None:
    assert run.exit_code == 1, run.output
    assert run.stderr.splitlines() == expected
    assert feed_titles(root) == [GOOD_TITLE]
    (sent,) = emails(root)
    assert GOOD_TITLE in text_of(sent)


def test_a_name_that_is_not_utf8_is_reported_and_left_out(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1, posts=1)
    content = bytes(tmp_path / "content")
    (Path(os.fsdecode(content + b"/\xff\xfe.md"))).write_bytes(POST)
    os.mkdir(content + b"/\xb4\xba\xbd\xba")  # '뉴스' in EUC-KR
    Path(os.fsdecode(content + b"/\xb4\xba\xbd\xba/a.md")).write_bytes(POST)

    run = invoke(config, "run", "--now", RUN_AT)
    check = invoke(config, "check", "--now", RUN_AT)

    expected = [
        "content/\\xb4\\xba\\xbd\\xba/: the folder name is not UTF-8 (an EUC-KR/CP949 name?): "
        f"the posts in it are left out; {RENAME}",
        f"content/\\xff\\xfe.md: the file name is not UTF-8 (an EUC-KR/CP949 name?): it is left "
        f"out; {RENAME}",
    ]
    assert_only_the_good_post(tmp_path, run, expected)
    assert check.exit_code == 1
    assert set(expected) <= set(check.stderr.splitlines())


def test_a_pipe_or_socket_is_reported_and_never_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_site(tmp_path, subscribers=1, posts=1)
    content = tmp_path / "content"
    os.mkfifo(content / "pipe.md")  # opening it to read would wait for a writer forever
    (content / "to-pipe.md").symlink_to(content / "pipe.md")
    monkeypatch.chdir(content)  # a socket's path must be short
    server = socket.socket(socket.AF_UNIX)
    server.bind("socket.html")
    try:
        run = invoke(config, "run", "--now", RUN_AT)
    finally:
        server.close()

    what = "not a regular file: it is not read; remove it or move it out of the content folder"
    assert_only_the_good_post(
        tmp_path,
        run,
        [
            f"content/pipe.md: is a named pipe (FIFO), {what}",
            f"content/socket.html: is a socket, {what}",
            f"content/to-pipe.md: is a named pipe (FIFO), {what}",
        ],
    )


def test_a_name_cannot_forge_a_line_of_output(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1, posts=1)
    forged = "x.md: fine\ncontent:1: all good\u202e.md"
    (tmp_path / "content" / forged).write_text("---\ntitle: [1]\n---\nx\n", encoding="utf-8")

    run = invoke(config, "run", "--now", RUN_AT)

    assert_only_the_good_post(
        tmp_path,
        run,
        [
            "content/x.md: fine\\ncontent:1: all good\\u202e.md:2: 'title' must be text, "
            "got [1]: write it as one line of text"
        ],
    )


def test_the_index_listing_shows_a_name_escaped(tmp_path: Path) -> None:
    """`publisher index` prints one line a post: a name cannot add another."""
    config = make_site(tmp_path, subscribers=1, posts=1)
    name = "2024-06-20-a\nforged line\u202e.md"
    (tmp_path / "content" / name).write_bytes(POST)

    listed = invoke(config, "index", "--now", RUN_AT)

    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert any(line.endswith("  2024-06-20-a\\nforged line\\u202e.md") for line in lines)
