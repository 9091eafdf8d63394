"""No file can take a run hostage: a site full of bombs (generated here: too large for
tests/data) runs under a 1 GB address-space limit, each bomb is one problem naming the
bound it broke, and every other post is published and announced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import feedparser
from delivery_helpers import RUN_AT, SECRET_ENV, make_site

# The address space the run is given (resource.RLIMIT_AS): the README states this bound.
LIMIT_MB = 1024


def write_bombs(content: Path) -> None:
    """One file per way a post could cost unbounded memory or time, and two big posts
    within the bounds."""
    levels = ["a: &a [" + ",".join(['"lol"'] * 10) + "]"]
    levels += [
        f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10) + "]"
        for i in range(1, 12)
    ]
    files = {
        # 10^12 values for 38 written: the YAML billion laughs, a thousand times over
        "alias-bomb.md": "---\ntitle: 별칭\n" + "\n".join(levels) + "\ntags: *l11\n---\nx\n",
        # 58 MB of Markdown: never read past its size
        "huge-markdown.md": "---\ntitle: 큰 글\n---\n"
        + ("북한과 러시아가 *새로운* 협정을 체결했습니다. " * 10 + "\n\n") * 90_000,
        # 900 KB of '[': minutes of Markdown conversion
        "markdown-past-its-bound.md": "---\ntitle: 큰 마크다운\n---\n" + "[" * 900_000,
        "front-matter-past-its-bound.md": '---\ntitle: 큰 머리말\nexcerpt: "'
        + "가" * 40_000
        + '"\n---\nx\n',
        # a million characters of <div>: minutes in an HTML parser
        "div-bomb.html": "---\ntitle: div\n---\n" + "<div>" * 199_000,
        # 990 levels of lists: what prints or walks them recurses past Python's stack
        "deep-yaml.md": "---\ntitle: 깊은 머리말\nx: " + "[" * 990 + "]" * 990 + "\n---\n깊다\n",
        "brackets-within-bounds.md": "---\ntitle: 괄호\n---\n" + "[" * 60_000,
        "big-within-bounds.html": "---\ntitle: 긴 글\n---\n"
        + "<p>북한과 러시아가 새로운 협정을 체결했습니다.</p>\n" * 14_000,
    }
    for name, text in files.items():
        (content / name).write_text(text, encoding="utf-8")


def test_bombs_are_each_one_problem_within_a_memory_bound(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=2)
    write_bombs(tmp_path / "content")
    limit = LIMIT_MB * 2**20
    code = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
        "from publisher.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "-c", str(config), "run", "--now", RUN_AT],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV},
        timeout=300,  # a hang guard, not a measure: the run takes seconds
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert [line.split(": ", 2)[:2] for line in result.stderr.splitlines()] == [
        ["content/alias-bomb.md:2", "front matter"],
        ["content/deep-yaml.md:3", "front matter"],
        ["content/div-bomb.html:1", "the body nests 199,000 HTML elements inside each other, "
         "more than 256"],
        ["content/front-matter-past-its-bound.md:1", "the front matter is 120,034 bytes, more "
         "than [content] max_front_matter_bytes (65,536)"],
        ["content/huge-markdown.md:1", "the file is 58,680,023 bytes, more than [content] "
         "max_front_matter_bytes and max_body_bytes allow together (1,065,552)"],
        ["content/markdown-past-its-bound.md:1", "the Markdown body is 900,000 bytes, more "
         "than [content] max_markdown_bytes (200,000), which bounds the time its conversion "
         "takes"],
    ]  # fmt: skip
    assert "its aliases (*name) stand for 2,345,679,012,359 values" in result.stderr
    assert "lists and tables nest more than 32 levels inside each other" in result.stderr
    feed = feedparser.parse((tmp_path / "public" / "atom.xml").read_bytes())
    assert not feed.bozo
    assert sorted(e.title for e in feed.entries) == sorted(
        [
            "긴 글",
            "괄호",
            "속보 0: 북·러 침략 시 상호 지원 협정 체결",
            "속보 1: 북·러 침략 시 상호 지원 협정 체결",
        ]
    )
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == 2
