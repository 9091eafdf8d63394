"""`publisher index` and `publisher check` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from content_site import Site

from publisher.cli import cli

NOW = "2026-11-22T03:00:00+00:00"
SECRET = {"PUBLISHER_SECRET": "a-test-secret-that-is-long-enough-0123456789"}


def invoke(site: Site, *args: str) -> tuple[int, str, str]:
    site.config()
    result = CliRunner().invoke(
        cli, ["-c", str(site.root / "publisher.toml"), *args], env=SECRET, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_index_lists_posts_newest_first_with_their_date_source(site: Site) -> None:
    site.add_seeds()
    site.add("2024-06-19-date-from-file-name.md")
    code, out, err = invoke(site, "index", "--now", NOW)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("2026-11-22T12:00:00+09:00  first seen    News")
    assert lines[0].endswith("000_a8db389672184cad.txt")
    assert lines[2] == (
        "2024-06-19T00:00:00+09:00  file name     -                 "
        "https://newsdao.kr/2024/06/19/date-from-file-name/  2024-06-19-date-from-file-name.md"
    )


def test_index_json_for_scripts(site: Site) -> None:
    site.add("categories-list.md")
    code, out, _ = invoke(site, "index", "--json", "--now", NOW)
    assert code == 0
    (row,) = json.loads(out)
    assert row == {
        "date": "2024-06-19T00:00:00+09:00",
        "date_source": "front matter",
        "updated": "2024-06-19T00:00:00+09:00",
        "title": "Categories as a list",
        "categories": ["News", "정치"],
        "tags": ["north-korea", "russia"],
        "url": "https://newsdao.kr/news/%EC%A0%95%EC%B9%98/2024/06/19/categories-list/",
        "id": "https://newsdao.kr/news/%EC%A0%95%EC%B9%98/2024/06/19/categories-list/",
        "source": "categories-list.md",
    }


def test_index_reports_bad_files_and_exits_1_after_listing_the_good(site: Site) -> None:
    site.add("date-only.md", "yaml-tab.md")
    code, out, err = invoke(site, "index", "--now", NOW)
    assert code == 1
    assert "date-only.md" in out
    assert err.startswith("content/yaml-tab.md:5: front matter is not valid YAML")


def test_check_passes_on_a_good_site(site: Site) -> None:
    site.add_seeds()
    code, out, err = invoke(site, "check", "--now", NOW)
    assert (code, err) == (0, "")
    assert out == "ok: 2 posts, templates and settings checked\n"


def test_check_lists_every_problem_and_exits_1(site: Site) -> None:
    site.add("date-unreadable.md", "not-utf8-cp949.md", "_drafts/a-draft.md")
    code, _, err = invoke(site, "check", "--now", NOW)
    assert code == 1
    assert err.splitlines() == [
        "content/date-unreadable.md:4: 'date': cannot read the date 'next tuesday': write it as "
        "'2024-06-19', '2024-06-19 14:30:00 +0900' or ISO 8601 '2024-06-19T14:30:00+09:00'",
        "content/not-utf8-cp949.md:2: the file is not UTF-8 (an EUC-KR/CP949 export?): convert "
        "it, e.g. 'iconv -f cp949 -t utf-8 not-utf8-cp949.md', and save it as UTF-8",
        "Error: 2 problems found: fix them and run 'publisher check' again",
    ]


def test_check_writes_nothing(site: Site) -> None:
    site.add_seeds()
    invoke(site, "check", "--now", NOW)
    # Had check recorded the first-seen dates, the seeds would be dated at NOW below.
    code, out, _ = invoke(site, "index", "--now", "2026-11-23T03:00:00+00:00")
    assert code == 0
    assert out.startswith("2026-11-23T12:00:00+09:00  first seen")


def test_index_records_nothing(site: Site) -> None:
    site.write("story.md", "---\ntitle: Breaking\n---\nBody\n")
    code, out, _ = invoke(site, "index", "--now", "2030-01-01T00:00:00+00:00")
    assert (code, out.split()[:2]) == (0, ["2030-01-01T09:00:00+09:00", "first"])
    assert not (site.root / "state").exists()
    # Had the listing recorded its first sight, the post would hide until 2030.
    assert invoke(site, "run", "--now", NOW) == (0, "", "")
    code, out, _ = invoke(site, "index", "--now", "2026-11-23T03:00:00+00:00")
    assert (code, out.split()[:2]) == (0, ["2026-11-22T12:00:00+09:00", "first"])


def test_missing_config_says_how_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["index"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no publisher.toml in {tmp_path}: pass one with 'publisher -c "
        "config.example.toml ...', or copy config.example.toml to publisher.toml and edit it\n"
    )


def test_bad_config_exits_1_with_every_problem(site: Site) -> None:
    site.config()
    path = site.root / "publisher.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("title =", "titel ="), "utf-8")
    result = CliRunner().invoke(cli, ["-c", str(path), "check"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: {path}: the config has 2 problems",
        f"{path}: [site] title: missing, and it has no default: add it",
        f"{path}: unknown key '[site] titel': did you mean 'title'?",
    ]


def test_usage_error_exits_2(site: Site) -> None:
    code, _, err = invoke(site, "index", "--bogus")
    assert code == 2
    assert "Error: No such option '--bogus'." in err


def test_check_names_a_missing_smtp_password(site: Site) -> None:
    site.add_seeds()
    config = site.root / "publisher.toml"
    site.config()
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[[newsletters]]\nid = "breaking"\nname = "속보"\nsender = "news@newsdao.kr"\n'
        + '[delivery]\nmethod = "smtp"\n[delivery.smtp]\nhost = "127.0.0.1"\n'
        + 'username = "news"\npassword_env = "NEWS_SMTP_PASSWORD"\n',
        encoding="utf-8",
    )
    (site.root / "email_templates").symlink_to(Path(__file__).parent.parent / "email_templates")
    result = CliRunner().invoke(cli, ["-c", str(config), "check", "--now", NOW], env=SECRET)
    assert result.exit_code == 1
    assert "NEWS_SMTP_PASSWORD" in result.stderr
    assert result.stderr.splitlines()[0].startswith("[delivery.smtp] password_env: ")
    # No https unsubscribe page configured: one-click unsubscribe cannot be offered.
    assert "[email] unsubscribe_url: not set: emails offer only the mailto unsubscribe" in (
        result.stderr
    )


def test_verbose_works_before_and_after_the_command(site: Site) -> None:
    site.add_seeds()
    quiet = invoke(site, "run", "--now", NOW)
    assert quiet == (0, "", "")
    for args in (("-v", "run"), ("run", "-v")):
        code, out, err = invoke(site, *args, "--now", NOW)
        assert (code, err) == (0, "")
        assert out == "2 posts, 0 feed files written, 0 new issues, 0 emails sent\n"


def test_every_command_takes_verbose_after_it_whatever_was_loaded_first() -> None:
    # Commands load on use; two commands share a module (subscribers, unsubscribe).
    runner = CliRunner()
    names = cli.list_commands(click.Context(cli))
    for name in [*names, *reversed(names)]:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "-v, --verbose" in result.output, name
