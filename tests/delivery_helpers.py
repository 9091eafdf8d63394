"""Journal rows and simple messages for delivery tests, without the newsletter stages."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from publisher.outgoing import OutgoingMessage
from publisher.store import Store, journal, subscribers
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
        journal.record_issue(
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


def bounce(store: Store, subscriber_id: int, reply: str, now: datetime) -> None:
    """Mark the subscriber bounced, as the subscribers module does."""
    subscribers.set_status(store, subscriber_id, "bounced", now, reply)


def statuses(store: Store, issue_id: str = ISSUE) -> dict[str, int]:
    """Journal rows of the issue counted by status."""
    rows = store.conn.execute(
        "SELECT status, count(*) FROM sends WHERE issue_id = ? GROUP BY status", (issue_id,)
    )
    return dict(rows.fetchall())
