"""A cron minute with nothing to do ends at once, and never misses a change (issue 14).

Each test runs the real `publisher` console script (its entry point is the quiet check)
in a new process on a real site: one that has nothing to do must end without loading the
parsers and without writing a file; every kind of change must take the whole run, which
`-vv` says ("...: the whole run follows") and whose outputs show the change.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from delivery_helpers import REPO, SECRET_ENV, address, make_site, seed
from email_helpers import BREAKING, DAILY, T0, email_config, post_at
from factories import make_config
from smtp_server import SmtpServer

from publisher.content.files import discover, stamp_posts
from publisher.feeds.lengths import next_ask
from publisher.inputs import PLACES, SECRETS, read_settings
from publisher.main import plain_run
from publisher.newsletters.plan import Issue, mark_announced, next_issue_time, plan_issues
from publisher.store import Store
from publisher.store.image_lengths import save_lengths

PUBLISHER = str(Path(sys.executable).with_name("publisher"))
QUIET = "nothing to do"
FULL = "the whole run follows"
HEAVY = ("click", "pydantic", "email_validator", "apscheduler", "yaml", "jinja2", "feedgen", "lxml")

_POST = """---
title: "{title}"
date: {date}
categories: [News]
image: {image}
---
<p>북한과 러시아가 새로운 협정을 체결했습니다.</p>
"""


def run(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`publisher -c config -vv run ARGS` (the console script, as cron starts it)."""
    return subprocess.run(
        [PUBLISHER, "-c", str(config), "-vv", "run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV, **(env or {})},
        timeout=120,
        check=False,
    )


def settle(config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run until a run is quiet (a run that sent an issue wrote pages during its run, so
    the one after it does the whole run once more); the quiet run."""
    for _ in range(3):
        result = run(config, env=env)
        if QUIET in result.stderr:
            return result
    raise AssertionError(f"never quiet: {result.stderr}")


def took_the_whole_run(result: subprocess.CompletedProcess[str], why: str = "") -> bool:
    """Whether the run did everything (and, given `why`, said it was for that reason)."""
    return FULL in result.stderr and QUIET not in result.stderr and why in result.stderr


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder under root: size, modification and change times."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            st = (Path(folder) / name).stat()
            found[str(Path(folder, name).relative_to(root))] = (
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
            )
    return found


def post(root: Path, name: str, title: str, date: datetime, image: str = "") -> Path:
    path = root / "content" / name
    path.write_text(
        _POST.format(
            title=title,
            date=date.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000"),
            image=image or '""',
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site whose posts are old (no newsletter has anything to send) that has settled:
    the next run is quiet. Returns its config file."""
    config = make_site(tmp_path, subscribers=2)
    settle(config)
    return config


def atom(config: Path) -> str:
    return (config.parent / "public" / "atom.xml").read_text(encoding="utf-8")


# --- the quiet minute -------------------------------------------------------------------


def test_nothing_changed_ends_without_the_parsers_and_writes_nothing(site: Path) -> None:
    before = snapshot(site.parent)
    driver = (
        "import sys\n"
        f"sys.argv = ['publisher', '-c', {str(site)!r}, 'run']\n"
        "from publisher.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(code, heavy, 'publisher.cli' in sys.modules, 'publisher.config' in sys.modules)\n"
    )
    # The driver starts Python as the console script does: the command's own folder first.
    result = subprocess.run(
        [sys.executable, "-c", driver],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV},
        cwd=Path(PUBLISHER).parent,
        timeout=60,
        check=False,
    )
    assert result.stdout == "0 [] False False\n", result.stderr
    assert result.stderr == ""
    assert snapshot(site.parent) == before


def test_the_quiet_minute_prints_what_a_run_with_nothing_to_do_prints(site: Path) -> None:
    quiet = subprocess.run(
        [PUBLISHER, "-c", str(site), "-v", "run"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV},
        check=False,
    )
    silent = subprocess.run(
        [PUBLISHER, "-c", str(site), "run"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV},
        check=False,
    )
    # The same line the whole run prints when nothing is new (test_run_cli).
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (
        0,
        "2 posts, 0 feed files written, 0 new issues, 0 emails sent\n",
        "",
    )
    assert (silent.returncode, silent.stdout, silent.stderr) == (0, "", "")


def test_a_run_with_problems_keeps_exit_status_1_and_prints_them_once(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1)
    (tmp_path / "content" / "broken.md").write_text("---\ntitle: [unclosed\n---\nx\n", "utf-8")
    first = run(config)
    quiet = settle(config)
    assert first.returncode == 1
    assert "content/broken.md:3: front matter is not valid YAML" in first.stderr
    assert quiet.returncode == 1
    assert "broken.md" not in quiet.stderr  # printed once, by the run that found it


# --- every kind of change takes the whole run -------------------------------------------


def test_a_post_edited_in_place_is_published(site: Path) -> None:
    path = site.parent / "content" / "2024-06-19-post-0.html"
    path.write_text(path.read_text("utf-8").replace("속보 0:", "속보 영:"), "utf-8")
    result = run(site)
    assert took_the_whole_run(result, "a post file changed")
    assert "속보 영:" in atom(site)
    assert QUIET in run(site).stderr


def test_a_post_edited_to_the_same_size_and_time_is_seen(site: Path) -> None:
    path = site.parent / "content" / "2024-06-19-post-0.html"
    st = path.stat()
    text = path.read_text("utf-8")
    path.write_text(text.replace("(0)", "(9)"), "utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert took_the_whole_run(run(site), "a post file changed")


def test_a_post_touched_without_change_takes_one_whole_run(site: Path) -> None:
    os.utime(site.parent / "content" / "2024-06-19-post-1.html")
    result = run(site)
    assert took_the_whole_run(result, "a post file changed")
    assert "feeds: 0 written" in result.stderr
    assert QUIET in run(site).stderr


def test_a_post_added_is_published_and_announced(site: Path) -> None:
    post(site.parent, "new.html", "새 속보", datetime.now(UTC) - timedelta(seconds=5))
    result = run(site)
    assert took_the_whole_run(result, "a post file changed")
    assert "새 속보" in atom(site)
    assert "queued for 2 subscribers" in result.stderr
    assert len(list((site.parent / "outbox" / "new").iterdir())) == 2
    # What it wrote (feeds, archive pages) is as it left it: the next minute is quiet.
    assert QUIET in run(site).stderr


def test_a_post_removed_leaves_the_feeds(site: Path) -> None:
    (site.parent / "content" / "2024-06-19-post-1.html").unlink()
    assert took_the_whole_run(run(site), "a post file changed")
    assert "속보 1:" not in atom(site)
    assert "속보 0:" in atom(site)


def test_a_post_renamed_is_seen(site: Path) -> None:
    content = site.parent / "content"
    (content / "2024-06-19-post-1.html").rename(content / "2024-06-19-renamed.html")
    assert took_the_whole_run(run(site), "a post file changed")
    assert "/2024/06/19/renamed/" in atom(site)


def test_a_draft_is_not_read_and_a_post_in_a_new_folder_is(site: Path) -> None:
    (site.parent / "content" / "_drafts").mkdir()
    post(site.parent, "_drafts/draft.html", "초안", datetime.now(UTC) - timedelta(seconds=5))
    assert QUIET in run(site).stderr  # a run reads no draft
    (site.parent / "content" / "2024").mkdir()
    post(site.parent, "2024/deep.html", "깊은 속보", datetime.now(UTC) - timedelta(seconds=5))
    assert took_the_whole_run(run(site), "a post file changed")
    assert "깊은 속보" in atom(site)
    assert "초안" not in atom(site)


def test_the_config_changed(site: Path) -> None:
    text = site.read_text("utf-8").replace('title = "뉴스다오"', 'title = "뉴스다오 2"')
    site.write_text(text, "utf-8")
    assert took_the_whole_run(run(site), "the config, a template, the code")
    assert "<title>뉴스다오 2</title>" in atom(site)


@pytest.mark.parametrize("name", ["alert.html.j2", "labels.j2", "email.css", "web/page.html.j2"])
def test_a_template_label_or_stylesheet_changed(site: Path, name: str) -> None:
    path = site.parent / "email_templates" / name
    assert path.exists()
    path.write_text(path.read_text("utf-8") + "\n", "utf-8")
    assert took_the_whole_run(run(site), "the config, a template, the code")
    assert QUIET in run(site).stderr


def test_a_template_added(site: Path) -> None:
    (site.parent / "email_templates" / "extra.html.j2").write_text("{{ x }}", "utf-8")
    assert took_the_whole_run(run(site), "the config, a template, the code")


def test_a_static_image_changed_gives_its_new_length(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1, posts=0)
    text = config.read_text("utf-8").replace(
        'timezone = "Asia/Seoul"\n', 'timezone = "Asia/Seoul"\n\n[content]\nstatic_dir = "static"\n'
    )
    config.write_text(text, "utf-8")
    image = tmp_path / "static" / "img" / "photo.jpg"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"x" * 1234)
    post(
        tmp_path,
        "2024-06-19-photo.html",
        "사진",
        datetime(2024, 6, 19, 1, tzinfo=UTC),
        "/img/photo.jpg",
    )
    settle(config)
    assert 'length="1234"' in atom(config)
    image.write_bytes(b"y" * 4321)
    assert took_the_whole_run(run(config), "photo.jpg changed")
    assert 'length="4321"' in atom(config)
    assert QUIET in run(config).stderr


def test_the_jekyll_config_found_beside_the_posts(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1)
    (tmp_path / "jekyll").mkdir()
    (tmp_path / "content").rename(tmp_path / "jekyll" / "_posts")
    text = config.read_text("utf-8")
    text = text.replace('title = "뉴스다오"\n', "", 1)
    text = text.replace(
        'timezone = "Asia/Seoul"\n', 'timezone = "Asia/Seoul"\n\n[content]\ndir = "jekyll/_posts"\n'
    )
    config.write_text(text, "utf-8")
    jekyll = tmp_path / "jekyll" / "_config.yml"
    jekyll.write_text("title: 지킬 뉴스\n", "utf-8")
    settle(config)
    assert "<title>지킬 뉴스</title>" in atom(config)
    jekyll.write_text("title: 지킬 속보\n", "utf-8")
    assert took_the_whole_run(run(config), "the config, a template, the code")
    assert "<title>지킬 속보</title>" in atom(config)


def test_a_jekyll_config_appearing_is_seen(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1)
    settle(config)
    (tmp_path / "_config.yml").write_text("description: 지킬의 설명\n", "utf-8")
    assert took_the_whole_run(run(config), "the config, a template, the code")
    assert "지킬의 설명" in atom(config)


def test_a_future_post_is_published_when_its_time_comes(site: Path) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    post(site.parent, "soon.html", "곧 속보", soon)
    assert took_the_whole_run(run(site), "a post file changed")
    assert "곧 속보" not in atom(site)
    assert recorded(site)["due_at"] == soon.isoformat(timespec="microseconds")
    while datetime.now(UTC) <= soon:
        time.sleep(0.2)
    result = run(site)
    assert took_the_whole_run(result, "something comes due")
    assert "곧 속보" in atom(site)
    assert "queued for 2 subscribers" in result.stderr


def test_a_newsletter_waiting_for_its_fire_is_due_then(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1, posts=0)
    # Every day at 07:00 in Seoul (22:00 UTC); a post of now waits for the next fire.
    config.write_text(config.read_text("utf-8").replace("* * * * *", "0 7 * * *"), "utf-8")
    post(tmp_path, "now.html", "기다리는 속보", datetime.now(UTC) - timedelta(seconds=5))
    settle(config)
    now = datetime.now(UTC)
    fire = now.replace(hour=22, minute=0, second=0, microsecond=0)
    if fire <= now:
        fire += timedelta(days=1)
    assert recorded(config)["due_at"] == fire.isoformat(timespec="microseconds")


def test_a_schedule_firing_every_minute_with_nothing_new_stays_quiet(site: Path) -> None:
    # The site's newsletter fires every minute; its posts are too old to announce.
    assert "* * * * *" in site.read_text("utf-8")
    assert recorded(site)["due_at"] is None
    assert QUIET in run(site).stderr


def test_an_issue_that_could_not_be_made_is_tried_every_minute(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1, posts=0)
    post(tmp_path, "now.html", "속보", datetime.now(UTC) - timedelta(seconds=5))
    first = run(config, env={"PUBLISHER_SECRET": ""})
    again = run(config, env={"PUBLISHER_SECRET": ""})
    assert first.returncode == again.returncode == 1
    # No record is kept of a run whose sending failed: every minute runs whole.
    assert took_the_whole_run(again, "no record of a complete run")


def test_a_request_never_confirmed_is_forgotten_when_it_expires(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        subscribers=1,
        extra='[web]\nbase_url = "https://newsdao.kr/subscribe/"\nconfirm_max_age = "3s"\n',
    )
    text = config.read_text("utf-8")
    config.write_text(
        text.replace('unsubscribe_url = "https://newsdao.kr/unsubscribe"', ""), "utf-8"
    )
    settle(config)
    asked = subprocess.run(
        [PUBLISHER, "-c", str(config), "subscribers", "add", "late@example.com", "--pending"],
        capture_output=True, text=True, env={**os.environ, **SECRET_ENV}, timeout=60, check=False,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    # Made by the CLI (or the web app) after the last run's record: the check finds it.
    assert QUIET in settle(config).stderr
    state = config.parent / "state" / "publisher.sqlite3"
    with Store.open(state) as store:
        (changed,) = store.conn.execute(
            "SELECT changed FROM subscribers WHERE email = 'late@example.com'"
        ).fetchone()
    expires = datetime.fromisoformat(changed) + timedelta(seconds=3)
    while datetime.now(UTC) <= expires:
        time.sleep(0.2)
    assert took_the_whole_run(run(config), "a request to subscribe expires")
    with Store.open(state) as store:
        gone = store.conn.execute("SELECT 1 FROM subscribers WHERE email = 'late@example.com'")
        assert gone.fetchone() is None
    assert QUIET in settle(config).stderr


def test_messages_left_pending_by_a_crash_are_sent(site: Path) -> None:
    with Store.open(site.parent / "state" / "publisher.sqlite3") as store:
        seed(store, 2, issue_id="news-left-by-a-crash")
    result = run(site)
    assert took_the_whole_run(result, "a message waits in the journal")
    with Store.open(site.parent / "state" / "publisher.sqlite3") as store:
        rows = store.conn.execute(
            "SELECT status FROM sends WHERE issue_id = ?", ("news-left-by-a-crash",)
        )
        assert sorted(s for (s,) in rows) == ["sent", "sent"]


def test_with_the_web_app_holding_the_state_file_open(site: Path) -> None:
    state = site.parent / "state" / "publisher.sqlite3"
    with Store.open(state) as web:  # as `publisher serve` keeps it: its journal is there
        web.conn.execute("SELECT count(*) FROM subscribers").fetchone()
        assert Path(f"{state}-wal").exists()
        assert QUIET in run(site).stderr
        # A confirmation email queued by the web app, committed but not yet in the file.
        seed(web, 1, issue_id="confirm-1-0")
        assert took_the_whole_run(run(site), "a message waits in the journal")


@pytest.mark.parametrize("name", ["atom.xml", "feed.css", "feeds/index.html", "feeds.html"])
def test_an_output_deleted_is_written_again(site: Path, name: str) -> None:
    path = site.parent / "public" / name
    before = path.read_bytes()
    path.unlink()
    assert took_the_whole_run(run(site), f"{name} changed")
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", ["rss.xml", "feed.css"])
def test_an_output_edited_by_hand_is_written_again(site: Path, name: str) -> None:
    path = site.parent / "public" / name
    before = path.read_bytes()
    path.write_bytes(before + b"\n<!-- edited -->")
    assert took_the_whole_run(run(site), f"{name} changed")
    assert path.read_bytes() == before


def test_the_secret_set_after_being_missing(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1)
    unset = {k: v for k, v in os.environ.items() if k != "PUBLISHER_SECRET"}
    result = subprocess.run(
        [PUBLISHER, "-c", str(config), "-vv", "run"], capture_output=True, text=True, env=unset
    )
    assert FULL in result.stderr
    result = subprocess.run(
        [PUBLISHER, "-c", str(config), "-vv", "run"], capture_output=True, text=True, env=unset
    )
    assert QUIET in result.stderr  # nothing to send: the secret is not needed
    assert took_the_whole_run(run(config), "the config, a template, the code or a secret")
    assert "0123456789abcdef" not in (tmp_path / "state" / "publisher.sqlite3").read_bytes().decode(
        "latin-1"
    )


def test_a_run_of_another_kind_drops_the_record(site: Path) -> None:
    other = subprocess.run(
        [PUBLISHER, "-c", str(site), "run", "--now", "2030-01-01T00:00:00+00:00"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV},
        check=False,
    )
    assert other.returncode == 0, other.stderr
    assert took_the_whole_run(run(site), "no record of a complete run")


def test_a_state_file_without_the_record_takes_the_whole_run(site: Path) -> None:
    state = site.parent / "state" / "publisher.sqlite3"
    with sqlite3.connect(state) as conn:
        conn.execute("DROP TABLE quiet_record")
    assert took_the_whole_run(run(site), "no record of a complete run")
    assert QUIET in run(site).stderr


# --- the parts ---------------------------------------------------------------------------


def recorded(config: Path) -> dict[str, object]:
    with sqlite3.connect(config.parent / "state" / "publisher.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM quiet_record").fetchone())


@pytest.mark.parametrize(
    ("args", "plain"),
    [
        (["run"], (None, 0)),
        (["-c", "x.toml", "run"], ("x.toml", 0)),
        (["--config=x.toml", "-vv", "run", "-v"], ("x.toml", 3)),
        (["-cx.toml", "--verbose", "run"], ("x.toml", 1)),
        (["run", "--now", "2024-06-19T02:00:00+00:00"], None),
        (["run", "--dry-run"], None),
        (["run", "--help"], None),
        (["build"], None),
        (["--version"], None),
        (["-c"], None),
        ([], None),
    ],
)
def test_which_command_lines_the_check_answers(args: list[str], plain: object) -> None:
    assert plain_run(args) == plain


def test_the_walk_finds_what_the_indexer_finds(tmp_path: Path) -> None:
    content = tmp_path / "content"
    for name in ["a.md", "b.HTML", "c.txt", "notes.pdf", ".hidden.md", "sub/d.markdown",
                 "_drafts/e.md", ".git/f.md", "sub/deeper/g.htm"]:  # fmt: skip
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text("x", "utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "h.md").write_text("x", "utf-8")
    (content / "in-link.md").symlink_to(content / "a.md")
    (content / "out-link.md").symlink_to(outside / "h.md")
    (content / "out-folder").symlink_to(outside)
    (content / "loop").symlink_to(content)
    (content / "broken.md").symlink_to(tmp_path / "nowhere.md")
    os.mkfifo(content / "pipe.md")
    (content / os.fsdecode(b"\xff.md")).write_text("x", "utf-8")
    (content / os.fsdecode(b"\xfe")).mkdir()
    files, unreadable = discover(content, drafts=False)
    seen, problems = set(), set()
    for block in stamp_posts(str(content), drafts=False):
        prefix, *entries = block.split("\0\0")
        for entry in entries:
            name, rest = entry.split("\0", 1)
            (problems if rest.startswith("!") else seen).add(prefix + name)
    assert seen == {f.rel for f in files} - {u.rel for u in unreadable}
    assert problems == {u.rel for u in unreadable}
    names = {"broken.md", "loop", "out-folder", "out-link.md", "pipe.md"}
    assert problems == names | {os.fsdecode(b"\xff.md"), os.fsdecode(b"\xfe/")}


def test_the_check_reads_places_and_secrets_as_the_config_does(tmp_path: Path) -> None:
    from publisher.config import DeliveryConfig, EmailConfig, load_config

    shutil.copy(REPO / "config.example.toml", tmp_path / "publisher.toml")
    (tmp_path / "linked").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "bare.toml").write_text('[site]\ntitle = "x"\nurl = "https://x.kr/"\n', "utf-8")
    for name in ["publisher.toml", "bare.toml", "linked/bare.toml"]:
        config = load_config(tmp_path / name)
        settings = read_settings(str(tmp_path / name))
        for table, key, default in PLACES:
            value = getattr(getattr(config, table), key)
            assert settings.place(table, key, default) == (None if value is None else str(value))
        assert settings.confirm_max_age == (config.web.confirm_max_age if config.web else None)
    assert EmailConfig().secret_env == SECRETS[0][1]
    assert DeliveryConfig().smtp.password_env == SECRETS[1][1]
    # [web] without confirm_max_age: the config's default.
    (tmp_path / "web.toml").write_text(
        '[site]\ntitle = "x"\nurl = "https://x.kr/"\n[web]\nbase_url = "https://x.kr/s/"\n'
        'sender = "x <x@x.kr>"\n',
        "utf-8",
    )
    web = load_config(tmp_path / "web.toml").web
    assert web is not None
    assert read_settings(str(tmp_path / "web.toml")).confirm_max_age == web.confirm_max_age


# --- when time alone gives a run work --------------------------------------------------

# 2024-06-19 11:00 UTC is 20:00 in Seoul; DAILY fires at 07:00 there (22:00 UTC).
FIRED = datetime(2024, 6, 18, 22, 0, tzinfo=UTC)  # today's fire, before T0
NEXT = FIRED + timedelta(days=1)


@pytest.mark.parametrize(
    ("newsletter", "dated", "sent_at", "untitled", "expected"),
    [
        # A post of the evening waits for tomorrow morning's digest.
        (DAILY, [T0 - timedelta(hours=1)], FIRED, False, NEXT),
        # Nothing sent since the fire, and a post before it: due now (its issue failed).
        (DAILY, [FIRED - timedelta(hours=2)], None, False, T0),
        # Too old by the next fire: never announced, nothing to wait for.
        ({**DAILY, "max_age": "12h"}, [FIRED + timedelta(minutes=30)], FIRED, False, None),
        (DAILY, [], None, False, None),
        # Every minute, with nothing new: no fire ever has work.
        (BREAKING, [], None, False, None),
        # Every minute, a post not announced yet: due now.
        (BREAKING, [T0 - timedelta(minutes=5)], None, False, T0),
        # A post without a title waits for one (an edit, which the check sees).
        (BREAKING, [T0 - timedelta(minutes=5)], None, True, None),
    ],
    ids=[
        "daily-waits",
        "daily-due",
        "daily-too-old",
        "daily-empty",
        "breaking-empty",
        "breaking-due",
        "untitled",
    ],
)
def test_the_next_issue_time_is_the_first_moment_a_plan_has_an_issue(
    tmp_path: Path,
    store: Store,
    newsletter: dict[str, object],
    dated: list[datetime],
    sent_at: datetime | None,
    untitled: bool,
    expected: datetime | None,
) -> None:
    config = email_config(tmp_path, [newsletter])
    posts = [post_at(n, when, untitled=untitled) for n, when in enumerate(dated, start=1)]
    if sent_at is not None:  # an issue at the fire, of a post not in this test
        with store.transaction():
            mark_announced(store, Issue("x", str(newsletter["id"]), ("other",), sent_at))
    found = next_issue_time(config.site.tz, store, config.newsletters[0], posts, T0)
    assert found == expected
    # The plan agrees at moments up to three days on: no issue before that time, one at it.
    probes = [T0 + timedelta(minutes=m) for m in range(0, 3 * 24 * 60, 17)]
    if found is not None:
        probes = [p for p in probes if p < found] + [found - timedelta(seconds=1)]
        assert plan_issues(config, store, posts, found) != ()
    for moment in probes:
        if moment >= T0:
            assert plan_issues(config, store, posts, moment) == (), moment


def test_an_image_server_is_asked_again_a_day_after_it_failed(tmp_path: Path) -> None:
    config = make_config(tmp_path, feeds={"image_head": True})
    with Store.open(config.store.path) as store:
        assert next_ask(config, store, T0) is None
        save_lengths(
            store,
            [
                ("https://a.example/1.jpg", None, T0 - timedelta(hours=3)),
                ("https://a.example/2.jpg", None, T0 - timedelta(hours=30)),  # not shown now
                ("https://a.example/3.jpg", 1234, T0 - timedelta(hours=5)),
            ],
        )
        assert next_ask(config, store, T0) == T0 + timedelta(hours=21)
        quiet = make_config(tmp_path, feeds={"image_head": False})
        assert next_ask(quiet, store, T0) is None


def test_an_error_the_next_run_does_not_meet_does_not_outlive_it(tmp_path: Path) -> None:
    # A message refused for its content fails for good: the run says so and exits 1; the
    # next run meets no problem and exits 0, and so does every quiet minute after it.
    with SmtpServer() as server:
        recent = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        config = make_site(tmp_path, subscribers=2, smtp_port=server.port, dated=recent)
        server.answer_data(address(1), "554 5.6.0 message content rejected")
        first = run(config)
        assert first.returncode == 1 and "554 5.6.0" in first.stderr
        second = run(config)
        assert took_the_whole_run(second) and second.returncode == 0
        assert settle(config).returncode == 0
