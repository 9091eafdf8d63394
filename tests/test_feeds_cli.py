"""`publisher build` on the sample site's posts, its [feeds] config keys, and the WebSub ping."""

from __future__ import annotations

import shutil
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from hub_server import Hub

from publisher.cli import cli
from publisher.config import load_config
from publisher.errors import ConfigError
from publisher.lock import run_lock

ROOT = Path(__file__).parent.parent
NOW = "2024-06-20T09:00:00+09:00"


def site(tmp_path: Path, feeds: str = "") -> Path:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    config = tmp_path / "publisher.toml"
    config.write_text(
        '[site]\ntitle = "뉴스다오"\nurl = "https://newsdao.kr/"\nlanguage = "ko"\n'
        'timezone = "Asia/Seoul"\n[store]\npath = "state/publisher.sqlite3"\n[feeds]\n'
        # The sample posts' images are on newsdao.kr: tests ask no server beyond 127.0.0.1.
        "image_head = false\n" + feeds,
        encoding="utf-8",
    )
    return config


def test_build_writes_feeds_then_nothing(tmp_path: Path, hub: Hub) -> None:
    config = site(tmp_path, f'websub_hub = "{hub.url}"\nwebsub_timeout = "5s"\n')
    runner = CliRunner()
    first = runner.invoke(cli, ["-c", str(config), "-v", "build", "--now", NOW])
    assert first.exit_code == 0, first.output
    out = tmp_path / "public"
    for name in ("atom.xml", "rss.xml", "categories/news/atom.xml"):
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo
        assert len(parsed.entries) == 2
    assert "2 feeds, 2 posts: wrote 9 files, 0 unchanged" in first.output
    pinged = [q["hub.url"][0] for _, _, q in hub.received]
    assert pinged == [
        "https://newsdao.kr/atom.xml",
        "https://newsdao.kr/rss.xml",
        "https://newsdao.kr/feed.json",
        "https://newsdao.kr/categories/news/atom.xml",
        "https://newsdao.kr/categories/news/rss.xml",
        "https://newsdao.kr/categories/news/feed.json",
    ]
    second = runner.invoke(cli, ["-c", str(config), "-v", "build", "--now", NOW])
    assert second.exit_code == 0, second.output
    assert "wrote 0 files, 9 unchanged" in second.output
    assert len(hub.received) == 6  # nothing changed, nobody pinged


def test_build_dry_run_lists_files(tmp_path: Path) -> None:
    config = site(tmp_path)
    result = CliRunner().invoke(cli, ["-c", str(config), "build", "--dry-run", "--now", NOW])
    assert result.exit_code == 0, result.output
    assert "would write 9 files" in result.output
    assert not (tmp_path / "public").exists()


def test_example_config_documents_every_feeds_key() -> None:
    config = load_config(ROOT / "config.example.toml")
    lines = (ROOT / "config.example.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index("[feeds]")
    section = lines[start + 1 : lines.index("", start)]
    keys = [line.split(" = ")[0] for line in section if not line.startswith("#")]
    assert keys == list(type(config.feeds).model_fields)
    for i, line in enumerate(section):
        if not line.startswith("#"):
            assert section[i - 1].startswith("#"), f"{line} has no comment"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('atom_name = "feeds/atom.xml"', "expected a plain file name such as 'atom.xml'"),
        ('category_dir = "../up"', "expected a folder inside output_dir such as 'categories'"),
        ('rss_name = "atom.xml"', "atom_name, rss_name and json_name must differ"),
        ('websub_hub = "hub.example.com"', "expected an absolute http(s) URL"),
        ('websub_timeout = "0s"', "expected a positive duration such as '10s'"),
        (
            'formats = ["atom", "rdf"]',
            "[feeds] formats[1]: input should be 'atom', 'rss' or 'json'",
        ),
        ('stylesheet = "xslt"', "[feeds] stylesheet: input should be 'css', 'xsl' or 'none'"),
        (
            'page_name = "../feeds.html"',
            "[feeds] page_name: expected a file inside output_dir such as 'feeds/index.html'",
        ),
        ('css_name = "css/feed.css"', "[feeds] css_name: expected a plain file name"),
        ('image_head_timeout = "0s"', "[feeds] image_head_timeout: expected a positive duration"),
    ],
    ids=[
        "name-with-folder",
        "folder-outside",
        "same-names",
        "hub-not-url",
        "zero-timeout",
        "rdf",
        "unknown-stylesheet",
        "page-outside",
        "css-in-folder",
        "zero-head-timeout",
    ],
)
def test_bad_feeds_keys_are_named(tmp_path: Path, line: str, message: str) -> None:
    config = site(tmp_path, line + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("line", "kind"),
    [("stylesheet = true", "css"), ("stylesheet = false", "none"), ("", "css")],
    ids=["true-was-the-xsl-now-css", "false-is-none", "default"],
)
def test_the_old_stylesheet_switch_still_reads(tmp_path: Path, line: str, kind: str) -> None:
    assert load_config(site(tmp_path, line + "\n")).feeds.stylesheet == kind


def test_build_waits_its_turn_behind_a_run(tmp_path: Path) -> None:
    config = site(tmp_path)
    with run_lock(tmp_path / "state" / "publisher.sqlite3") as held:
        assert held
        result = CliRunner().invoke(cli, ["-c", str(config), "build", "--now", NOW])
    assert result.exit_code == 1
    assert result.stderr == (
        f"another publisher run holds {tmp_path / 'state' / 'publisher.sqlite3.lock'}: "
        "nothing done\n"
    )
    assert not (tmp_path / "public").exists()
