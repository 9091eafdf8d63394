"""Under cron, one mail per problem: a run prints a problem once, until it changes or comes
back; the exit status stays 1 while it remains; `check` and `status` always list it."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from content_site import DATA
from delivery_helpers import RUN_AT, SECRET_ENV, make_site
from smtp_server import SmtpServer

from publisher.cli import cli
from publisher.delivery.replies import steady
from publisher.errors import Problem
from publisher.store.problems import problem_key

START = datetime.fromisoformat(RUN_AT)


def at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


def invoke(config: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args], env=env or SECRET_ENV)


BAD_DATE = (
    "content/date-impossible-day.md:3: front matter: '2024-02-30' is not a date any calendar "
    "has (day is out of range for month): write a real day and time, such as "
    "'2024-06-19 14:30:00 +09:00'"
)
NO_TITLE = (
    "content/title-empty.md:2: the post has no title: feeds show it as 'Title Empty', and no "
    "newsletter announces it until it has one; add 'title: ...' to its front matter"
)


def test_a_broken_post_is_printed_once_and_stays_in_check_status_and_the_exit_status(
    tmp_path: Path,
) -> None:
    config = make_site(tmp_path, subscribers=1)
    shutil.copy(DATA / "date-impossible-day.md", tmp_path / "content")
    first = invoke(config, "run", "--now", at(0))
    again = invoke(config, "run", "--now", at(1))
    check = invoke(config, "check", "--now", at(1))
    status = invoke(config, "status")

    assert (first.exit_code, first.stdout, first.stderr) == (1, "", BAD_DATE + "\n")
    assert (again.exit_code, again.stdout, again.stderr) == (1, "", "")
    assert check.exit_code == 1 and BAD_DATE in check.stderr.splitlines()
    assert status.exit_code == 0
    assert status.stdout.splitlines()[-2:] == [
        "problems found by the last run (1):",
        f"  {BAD_DATE}  (since 2024-06-19 11:00)",
    ]


def test_an_edited_or_new_problem_is_printed_and_a_fixed_one_goes(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1)
    post = tmp_path / "content" / "date-impossible-day.md"
    shutil.copy(DATA / "date-impossible-day.md", post)
    invoke(config, "run", "--now", at(0))
    post.write_text(post.read_text(encoding="utf-8") + "<p>고쳤지만 날짜는 그대로</p>\n")
    edited = invoke(config, "run", "--now", at(1))
    shutil.copy(DATA / "title-empty.md", tmp_path / "content")
    added = invoke(config, "run", "--now", at(2))
    post.unlink()
    (tmp_path / "content" / "title-empty.md").unlink()
    fixed = invoke(config, "run", "--now", at(3))
    status = invoke(config, "status")
    shutil.copy(DATA / "date-impossible-day.md", post)
    back = invoke(config, "run", "--now", at(4))

    assert (edited.exit_code, edited.stderr) == (1, BAD_DATE + "\n")
    assert (added.exit_code, added.stderr) == (1, NO_TITLE + "\n")
    assert (fixed.exit_code, fixed.stderr) == (0, "")
    assert "problems found" not in status.stdout
    assert (back.exit_code, back.stderr) == (1, BAD_DATE + "\n")


def test_a_setting_problem_is_printed_once(tmp_path: Path) -> None:
    config = make_site(tmp_path, subscribers=1)
    no_secret = {"PUBLISHER_SECRET": ""}
    first = invoke(config, "run", "--now", at(0), env=no_secret)
    shutil.copy(DATA / "date-only.md", tmp_path / "content")  # new work, same problem
    again = invoke(config, "run", "--now", at(1), env=no_secret)

    assert first.exit_code == 1
    assert first.stderr.startswith(
        "[email] secret_env: no secret for unsubscribe links: the environment variable "
        "PUBLISHER_SECRET (named by [email] secret_env) is not set"
    )
    assert (again.exit_code, again.stderr) == (1, "")
    assert (tmp_path / "public" / "atom.xml").read_text(encoding="utf-8").count("<entry>") == 3


def test_a_server_problem_quoting_each_reader_is_printed_once(tmp_path: Path) -> None:
    with SmtpServer() as server:
        # a relay refusing everyone, its answer naming each reader: every run meets others
        server.refuse_everyone("554 5.7.1 <{address}>: Relay access denied")
        config = make_site(tmp_path, subscribers=30, smtp_port=server.port)
        first = invoke(config, "run", "--now", at(0))
        again = invoke(config, "run", "--now", at(1))

    assert first.exit_code == 1
    (line,) = first.stderr.splitlines()
    assert line.startswith(
        f"[delivery.smtp]: 127.0.0.1:{server.port} gave 10 different recipients in a row the "
        "same answer (554 5.7.1 <reader"
    )
    assert (again.exit_code, again.stderr) == (1, "")  # ten others refused: the same problem
    (last,) = [s for s in invoke(config, "status").stdout.splitlines() if "server problem" in s]
    assert last.startswith("  last server problem 2024-06-19 11:01: ")
    assert last.removeprefix("  last server problem 2024-06-19 11:01: ") != line


def test_a_server_problem_is_the_same_whatever_message_queue_id_it_quotes() -> None:
    def key(message: str) -> str:
        problem = Problem("[delivery.smtp]", message)
        return problem_key(replace(problem, same_as=steady(str(problem))), Path("/nowhere"))

    first = key("mx:25 refused DATA (554 5.7.1 id=1sJK2L-0003Ab-Qx from <a@example.com>)")
    second = key("mx:25 refused DATA (554 5.7.1 id=1sJK9Z-0007Cd-Rt from <b@example.org>)")
    other = key("mx:25 refused DATA (530 5.7.0 id=1sJK9Z-0007Cd-Rt from <b@example.org>)")
    assert first == second != other


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param(
            "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
            "535 5.7.8  https://support.google.com/mail/?p=BadCredentials "
            "d9443c01a7336-1f6e4d5a1b2sm12345{n}ad.{n} - gsmtp",
            id="gmail",
        ),
        pytest.param(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
            "for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. "
            "[MN2PR15CA00{n}.namprd15.prod.outlook.com 2024-06-19T02:0{n}:1{n}.511Z "
            "08DC8F1A2B3C4D{n}E]",
            id="microsoft-365",
        ),
        pytest.param("535 5.7.8 try again at 10:17:4{n} (session {n}.{n})", id="a-time"),
    ],
)
def test_a_refused_login_is_printed_once_whatever_the_server_quotes_each_time(
    tmp_path: Path, refusal: str
) -> None:
    with SmtpServer(username="news", password="right") as server:
        server.login_refusal = refusal
        config = make_site(
            tmp_path,
            subscribers=1,
            smtp_port=server.port,
            smtp='username = "news"\npassword_env = "TEST_SMTP_PASSWORD"\n',
        )
        env = {**SECRET_ENV, "TEST_SMTP_PASSWORD": "wrong"}
        runs = [invoke(config, "run", "--now", at(minute), env=env) for minute in range(3)]

    assert [r.exit_code for r in runs] == [1, 1, 1]
    (line,) = runs[0].stderr.splitlines()
    assert line.startswith(f"[delivery.smtp]: 127.0.0.1:{server.port} refused the login (535 ")
    assert [r.stderr for r in runs[1:]] == ["", ""]  # a lasting problem: told once
