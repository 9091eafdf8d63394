"""Journal rows and simple messages for delivery tests, without the newsletter stages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from factories import make_config

from publisher.config import Config
from publisher.delivery import DeliveryReport, OutgoingMessage, deliver
from publisher.store import Store, issues, journal, subscribers
from publisher.store.journal import PendingSend

T0 = datetime(2024, 6, 19, 10, 0, tzinfo=UTC)
ISSUE = "news-0123456789ab"


def address(n: int) -> str:
    """The address of test subscriber n."""
    return f"reader{n}@example.com"


def seed(store: Store, count: int, *, issue_id: str = ISSUE, created: datetime = T0) -> list[int]:
    """`count` active subscribers of 'news' and one issue with a pending row for each."""
    with store.transaction():
        ids = []
        for n in range(count):
            found = subscribers.by_key(store, address(n))
            sid = (
                found.id
                if found
                else subscribers.insert(
                    store,
                    key=address(n),
                    email=address(n),
                    display_email=address(n),
                    name=f"독자 {n}",
                    newsletters=["news"],
                    status="active",
                    now=created,
                )
            )
            ids.append(sid)
        issues.record_issue(
            store,
            issue_id=issue_id,
            newsletter_id="news",
            post_ids=["https://newsdao.kr/news/2024/06/19/post-1/"],
            created=created,
        )
        journal.enqueue(store, issue_id, [(sid, address(n)) for n, sid in enumerate(ids)])
    return ids


def compose(row: PendingSend) -> OutgoingMessage:
    """A small Korean message for the row."""
    msg = EmailMessage()
    msg["From"] = "뉴스다오 <news@newsdao.kr>"
    msg["To"] = row.recipient
    msg["Subject"] = "북·러 침략 시 상호 지원 협정 체결"
    message_id = f"<{row.issue_id}.{row.subscriber_id}@newsdao.kr>"
    msg["Message-ID"] = message_id
    msg.set_content("북한과 러시아가 새로운 협정을 체결했습니다.\n", cte="base64")
    return OutgoingMessage(
        issue_id=row.issue_id,
        subscriber_id=row.subscriber_id,
        recipient=row.recipient,
        sender="news@newsdao.kr",
        message_id=message_id,
        data=msg.as_bytes(),
    )


def smtp_config(
    tmp_path: Path, port: int, delivery: dict[str, Any] | None = None, **smtp: Any
) -> Config:
    """A config that sends through 127.0.0.1:`port` (retry_after 5m, max_attempts 3)."""
    return make_config(
        tmp_path,
        delivery={
            "method": "smtp",
            "retry_after": "5m",
            "max_attempts": 3,
            **(delivery or {}),
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5, **smtp},
        },
    )


def run(config: Config, store: Store, now: datetime = T0) -> DeliveryReport:
    """One delivery pass over the due rows, with `compose`'s messages."""
    return deliver(config.delivery, store, compose, now)


def rows(store: Store) -> dict[str, tuple[str, int]]:
    """Each row's recipient -> (status, attempts)."""
    found = store.conn.execute("SELECT recipient, status, attempts FROM sends")
    return {r: (s, a) for r, s, a in found}


def statuses(store: Store, issue_id: str = ISSUE) -> dict[str, int]:
    """Journal rows of the issue counted by status."""
    rows = store.conn.execute(
        "SELECT status, count(*) FROM sends WHERE issue_id = ? GROUP BY status", (issue_id,)
    )
    return dict(rows.fetchall())


REPO = Path(__file__).resolve().parent.parent
SECRET_ENV = {"PUBLISHER_SECRET": "0123456789abcdef0123456789abcdef-test-secret"}
# 11:00 in Seoul: the posts below are an hour old, and '* * * * *' has just fired.
RUN_AT = "2024-06-19T02:00:00+00:00"

_POST = """---
title: "속보 {n}: 북·러 침략 시 상호 지원 협정 체결"
date: {date}
categories: [News]
---
<p>북한과 러시아가 새로운 협정을 체결하여 상호적인 군사적 지원을 약속했습니다. ({n})</p>
"""


def make_site(
    root: Path,
    *,
    subscribers: int,
    smtp_port: int | None = None,
    posts: int = 2,
    smtp: str = "",
    timeout: str = "10s",
    extra: str = "",
    dated: datetime = datetime(2024, 6, 19, 1, 0, tzinfo=UTC),
) -> Path:
    """A site folder with posts, the repo's email templates and a config; returns the config."""
    (root / "content").mkdir(parents=True)
    for n in range(posts):
        (root / "content" / f"2024-06-19-post-{n}.html").write_text(
            _POST.format(n=n, date=(dated + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M:%S %z")),
            encoding="utf-8",
        )
    shutil.copytree(REPO / "email_templates", root / "email_templates")
    delivery = (
        f'[delivery]\nmethod = "smtp"\nretry_after = "5m"\n\n[delivery.smtp]\n'
        f'host = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout = "{timeout}"\n{smtp}'
        if smtp_port
        else '[delivery]\nmethod = "outbox"\noutbox_dir = "outbox"\n'
    )
    people = "".join(
        f'\n[[subscribers]]\nemail = "{address(n)}"\nname = "독자 {n}"\n'
        for n in range(subscribers)
    )
    config = root / "publisher.toml"
    config.write_text(
        f"""[site]
title = "뉴스다오"
url = "https://newsdao.kr/"
language = "ko"
timezone = "Asia/Seoul"

[email]
unsubscribe_url = "https://newsdao.kr/unsubscribe"

[[newsletters]]
id = "news"
name = "속보"
categories = ["News"]
schedule = "* * * * *"
sender = "뉴스다오 <news@newsdao.kr>"

{delivery}
{extra}
{people}""",
        encoding="utf-8",
    )
    return config


def publisher_command(*args: str) -> list[str]:
    """The argv that runs the `publisher` command in a new process."""
    return [sys.executable, "-c", "from publisher.cli import main; main()", *args]


def run_publisher(
    config: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `publisher -c config ARGS` to completion, with the test secret set."""
    return subprocess.run(
        publisher_command("-c", str(config), *args),
        capture_output=True,
        text=True,
        env={**os.environ, **SECRET_ENV, **(env or {})},
        timeout=120,
        check=False,
    )


def start_publisher(config: Path, *args: str) -> subprocess.Popen[str]:
    """Start `publisher -c config ARGS` in the background, with the test secret set."""
    return subprocess.Popen(
        publisher_command("-c", str(config), *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **SECRET_ENV},
    )


def journal_counts(config: Path) -> dict[str, int]:
    """The site's journal rows counted by status."""
    with Store.open(config.parent / "state" / "publisher.sqlite3") as store:
        return dict(store.conn.execute("SELECT status, count(*) FROM sends GROUP BY status"))


def in_flight(config: Path) -> set[str]:
    """The recipients of the rows a dead run left `sending`."""
    with Store.open(config.parent / "state" / "publisher.sqlite3") as store:
        found = store.conn.execute("SELECT recipient FROM sends WHERE status = 'sending'")
        return {r for (r,) in found}


def recovered_warning(count: int) -> str:
    """What a run says when it finds `count` rows a dead run left `sending`."""
    return (
        f"warning: [delivery]: {count} message(s) were being sent when an earlier run ended "
        "before recording the server's answer: they may have arrived, and are sent again now; "
        "'publisher status' counts them as unknown\n"
    )
