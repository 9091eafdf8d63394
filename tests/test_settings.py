"""Settings that cannot work together: each one through `publisher check` (listed with the
others, all at once) and `publisher run` (which then writes nothing at all)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from delivery_helpers import RUN_AT, SECRET_ENV, make_site

from publisher.cli import cli


def invoke(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args], env={**SECRET_ENV, **(env or {})})


def files(root: Path) -> dict[str, int]:
    """Every file and folder under root, with its modification time."""
    found = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = path.lstat().st_mtime_ns
    return found


def site_with(tmp_path: Path, *, extra: str = "", edits: tuple[tuple[str, str], ...] = ()) -> Path:
    """The usual test site, its config with `extra` tables and `edits` (old, new) applied."""
    config = make_site(tmp_path, subscribers=1, extra=extra)
    text = config.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    config.write_text(text, encoding="utf-8")
    return config


# (id, extra tables, edits, the message after '<config>: ')
CASES = [
    (
        "output-is-content",
        '[feeds]\noutput_dir = "content"\n',
        (),
        "[feeds] output_dir: {root}/content is the content folder: give it a folder of its "
        "own, such as 'public'",
    ),
    (
        "output-is-root",
        '[feeds]\noutput_dir = "/"\n',
        (),
        "[feeds] output_dir: / is the root of the file system: give it a folder of its own, "
        "such as 'public'",
    ),
    (
        "output-is-home",
        '[feeds]\noutput_dir = "home"\n',
        (),
        "[feeds] output_dir: {root}/home is the home folder: give it a folder of its own, "
        "such as 'public'",
    ),
    (
        "state-in-content",
        '[store]\npath = "content/publisher.sqlite3"\n',
        (),
        "[store] path: {root}/content (the folder of the state file) is the content folder: "
        "give it a folder of its own, such as 'state/publisher.sqlite3'",
    ),
    (
        "templates-are-content",
        "",
        (("[email]\n", '[email]\ntemplates_dir = "content"\n'),),
        "[email] templates_dir: {root}/content is the content folder: give it a folder of "
        "its own, such as 'email_templates'",
    ),
    (
        "outbox-is-root",
        "",
        (('outbox_dir = "outbox"', 'outbox_dir = "/"'),),
        "[delivery] outbox_dir: / is the root of the file system: give it a folder of its "
        "own, such as 'outbox'",
    ),
    (
        "outbox-published",
        '[feeds]\noutput_dir = "site"\n',
        (('outbox_dir = "outbox"', 'outbox_dir = "site/outbox"'),),
        "[delivery] outbox_dir: {root}/site/outbox is inside [feeds] output_dir "
        "({root}/site), which is published at https://newsdao.kr/: every email (addresses "
        "and unsubscribe links) would be public; move it out of that folder",
    ),
    (
        "state-published",
        '[feeds]\noutput_dir = "."\n[store]\npath = "state/publisher.sqlite3"\n',
        (),
        "[store] path: {root}/state/publisher.sqlite3 is inside [feeds] output_dir ({root}), "
        "which is published at https://newsdao.kr/: the state file (subscribers' addresses) "
        "would be public; move it out of that folder",
    ),
    (
        "json-is-the-stylesheet",
        '[feeds]\njson_name = "feed.css"\n',
        (),
        "[feeds] css_name: 'feed.css' is also the name of [feeds] json_name: the one "
        "written last would replace the other; give each output its own name",
    ),
    (
        "discovery-is-atom",
        '[feeds]\ndiscovery_name = "ATOM.xml"\n',
        (),
        "[feeds] discovery_name: 'ATOM.xml' is also the name of [feeds] atom_name: the one "
        "written last would replace the other; give each output its own name",
    ),
    (
        "category-folder-is-rss",
        '[feeds]\ncategory_dir = "rss.xml"\n',
        (),
        "[feeds] category_dir: 'rss.xml' is also the name of [feeds] rss_name: the one "
        "written last would replace the other; give each output its own name",
    ),
    (
        "language-with-a-header",
        "",
        (('language = "ko"', 'language = "ko\\r\\nX-Injected: 1"'),),
        "[site] language: expected a language tag such as 'ko' or 'en-US', got "
        "'ko\\r\\nX-Injected: 1'",
    ),
    (
        "title-on-two-lines",
        "",
        (('title = "뉴스다오"', 'title = "뉴스다오\\nBcc: all@example.com"'),),
        "[site] title: '뉴스다오\\nBcc: all@example.com' holds a line break or another control "
        "character, and it goes into email headers or feeds: write it on one line",
    ),
    (
        "newsletter-name-on-two-lines",
        "",
        (('name = "속보"', 'name = "속보\\r"'),),
        "newsletters[0].name: '속보\\r' holds a line break or another control character, and "
        "it goes into email headers or feeds: write it on one line",
    ),
    (
        "output-is-templates",
        '[feeds]\noutput_dir = "email_templates"\n',
        (),
        "[feeds] output_dir: {root}/email_templates is also [email] templates_dir: a run's "
        "files would land among the templates (one could replace a template, and every run "
        "would find the templates changed); give each its own folder, side by side",
    ),
    (
        "outbox-in-templates",
        "",
        (('outbox_dir = "outbox"', 'outbox_dir = "email_templates/outbox"'),),
        "[delivery] outbox_dir: {root}/email_templates/outbox is inside [email] templates_dir "
        "({root}/email_templates): a run's files would land among the templates (one could "
        "replace a template, and every run would find the templates changed); give each its "
        "own folder, side by side",
    ),
    (
        "smtp-password-is-the-secret",
        "",
        (
            (
                '[delivery]\nmethod = "outbox"\noutbox_dir = "outbox"\n',
                '[delivery]\nmethod = "smtp"\n[delivery.smtp]\nusername = "news"\n'
                'password_env = "PUBLISHER_SECRET"\n',
            ),
        ),
        "[delivery.smtp] password_env: PUBLISHER_SECRET is also [email] secret_env: the key "
        "that signs readers' links would be the mail server's password (whoever reads one "
        "could forge the other); give each secret its own variable",
    ),
    (
        "icon-is-javascript",
        "",
        (('url = "https://newsdao.kr/"', 'url = "https://newsdao.kr/"\nicon = " JavaScript:x"'),),
        "[site] icon: ' JavaScript:x' is not a web link: give a path on the site such as "
        "'/assets/img/icon.png', or an http(s) URL",
    ),
    (
        "secret-is-path",
        "",
        (("[email]\n", '[email]\nsecret_env = "PATH"\n'),),
        "[email] secret_env: PATH is a variable the system sets for its own use, not a "
        "secret: name a variable of your own, such as PUBLISHER_SECRET, and put the secret in "
        "it",
    ),
    (
        "secret-is-ls-colors",
        "",
        (("[email]\n", '[email]\nsecret_env = "LS_COLORS"\n'),),
        "[email] secret_env: LS_COLORS is a variable the system sets for its own use, not a "
        "secret: name a variable of your own, such as PUBLISHER_SECRET, and put the secret in "
        "it",
    ),
    (
        "smtp-password-is-home",
        "",
        (
            (
                '[delivery]\nmethod = "outbox"\noutbox_dir = "outbox"\n',
                '[delivery]\nmethod = "smtp"\n[delivery.smtp]\nusername = "news"\n'
                'password_env = "HOME"\n',
            ),
        ),
        "[delivery.smtp] password_env: HOME is a variable the system sets for its own use, "
        "not a secret: name a variable of your own, such as PUBLISHER_SMTP_PASSWORD, and put "
        "the secret in it",
    ),
]


@pytest.mark.parametrize(
    ("extra", "edits", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_setting_is_reported_by_check_and_run_writes_nothing(
    tmp_path: Path, extra: str, edits: tuple[tuple[str, str], ...], message: str
) -> None:
    config = site_with(tmp_path, extra=extra, edits=edits)
    (tmp_path / "home").mkdir()
    env = {"HOME": str(tmp_path / "home")}
    before = files(tmp_path)
    check = invoke(config, "check", "--now", RUN_AT, env=env)
    run = invoke(config, "run", "--now", RUN_AT, env=env)
    build = invoke(config, "build", "--now", RUN_AT, env=env)

    expected = f"{config}: {message.format(root=tmp_path)}"
    for result in (run, build):
        assert result.exit_code == 1
        lines = result.stderr.splitlines()
        assert lines[0].startswith(f"Error: {config}: the config has ")
        assert expected in lines[1:]
    # check goes on to the posts and templates, then says how many problems in all
    assert check.exit_code == 1
    assert expected in check.stderr.splitlines()
    assert check.stderr.splitlines()[-1].startswith("Error: ")
    assert check.stderr.splitlines()[-1].endswith(
        " found: fix them and run 'publisher check' again"
    )
    assert files(tmp_path) == before


def test_check_lists_every_bad_setting_at_once(tmp_path: Path) -> None:
    config = site_with(
        tmp_path,
        extra='[feeds]\noutput_dir = "content"\njson_name = "feed.css"\n',
        edits=(
            ("[email]\n", '[email]\nsecret_env = "USER"\n'),
            ('language = "ko"', 'language = "k o"'),
        ),
    )
    result = CliRunner().invoke(
        cli, ["-c", str(config), "check", "--now", RUN_AT], env={**SECRET_ENV, "USER": None}
    )
    lines = result.stderr.splitlines()
    assert [line.split(": ", 2)[1] for line in lines[:-2]] == [
        "[feeds] output_dir",
        "[feeds] css_name",
        "[site] language",
        "[email] secret_env",
    ]
    assert lines[-2].startswith("[email] secret_env: no secret for unsubscribe links: ")
    assert lines[-1] == "Error: 5 problems found: fix them and run 'publisher check' again"


def test_check_lists_bad_settings_with_the_posts_and_secrets_problems(tmp_path: Path) -> None:
    """Settings that cannot work together do not hide the rest: a broken post, a missing
    content folder and a missing secret are listed with them, in one run of check."""
    config = site_with(tmp_path, extra='[feeds]\noutput_dir = "email_templates"\n', edits=())
    (tmp_path / "content" / "2024-06-20-broken.md").write_text(
        "---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["-c", str(config), "check", "--now", RUN_AT], env={})
    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert lines[0].startswith(f"{config}: [feeds] output_dir: ")
    assert any("2024-06-20-broken.md:3: front matter is not valid YAML" in line for line in lines)
    assert any(line.startswith("[email] secret_env: ") for line in lines)
    assert lines[-1] == "Error: 3 problems found: fix them and run 'publisher check' again"

    shutil.rmtree(tmp_path / "content")
    lines = CliRunner().invoke(cli, ["-c", str(config), "check"], env={}).stderr.splitlines()
    assert lines[:3] == [
        lines[0],
        f"[content] dir: {tmp_path}/content: the content folder does not exist: create it or "
        "fix [content] dir",
        lines[2],
    ]
    assert lines[-1] == "Error: 3 problems found: fix them and run 'publisher check' again"

    # A state file that is not one does not hide the rest either.
    (tmp_path / "content").mkdir()
    (tmp_path / "state").mkdir(exist_ok=True)
    (tmp_path / "state" / "publisher.sqlite3").write_text("garbage", encoding="utf-8")
    lines = CliRunner().invoke(cli, ["-c", str(config), "check"], env={}).stderr.splitlines()
    assert lines[1].startswith(f"[store] path: {tmp_path}/state/publisher.sqlite3: ")
    assert lines[-1] == "Error: 3 problems found: fix them and run 'publisher check' again"
