"""Configs, posts and subscribers for the newsletter and email tests."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from factories import make_config, make_post

from publisher.config import Config
from publisher.content.post import Post
from publisher.newsletters.subscribers import Subscriber
from publisher.store import Store
from publisher.store import subscribers as table

TEMPLATES = Path(__file__).resolve().parent.parent / "email_templates"
SECRET = b"0123456789abcdef0123456789abcdef"
# 2024-06-19 11:00 UTC is 20:00 in Seoul.
T0 = datetime(2024, 6, 19, 11, 0, tzinfo=UTC)

BREAKING: dict[str, Any] = {
    "id": "breaking",
    "name": "뉴스다오 속보",
    "categories": ["News"],
    "schedule": "* * * * *",
    "sender": "뉴스다오 속보 <news@newsdao.kr>",
}
DAILY: dict[str, Any] = {
    "id": "daily",
    "name": "뉴스다오 데일리",
    "schedule": "0 7 * * *",
    "max_age": "25h",
    "sender": "뉴스다오 <news@newsdao.kr>",
    "subject_alert": "[{{ newsletter.name }}] {{ post.title }}",
}


def email_config(
    tmp_path: Path,
    newsletters: list[dict[str, Any]] | None = None,
    **sections: dict[str, Any],
) -> Config:
    """A Config with the bundled templates, the breaking and daily newsletters by default."""
    email_section = {
        "templates_dir": str(TEMPLATES),
        "unsubscribe_url": "https://newsdao.kr/unsubscribe",
        "unsubscribe_mailto": "unsubscribe@newsdao.kr",
        **sections.pop("email", {}),
    }
    return make_config(
        tmp_path,
        email=email_section,
        newsletters=newsletters if newsletters is not None else [BREAKING, DAILY],
        store={"path": str(tmp_path / "state.sqlite3")},
        **sections,
    )


def post_at(n: int, when: datetime, **overrides: Any) -> Post:
    """Test post n, dated `when`."""
    return make_post(n=n, date=when, updated=when, **overrides)


def subscriber(
    store: Store, address: str, *, name: str = "", newsletters: tuple[str, ...] = ("*",)
) -> Subscriber:
    """An active subscriber, straight into the store."""
    with store.transaction():
        sid = table.insert(
            store,
            key=address.casefold(),
            email=address,
            display_email=address,
            name=name,
            newsletters=newsletters,
            status="active",
            now=T0,
        )
    found = table.by_id(store, sid)
    assert found is not None
    return found


def parse(data: bytes) -> EmailMessage:
    """A message read back with the stdlib parser (modern policy)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message
