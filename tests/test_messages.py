"""Per-subscriber messages: parsed back with the stdlib, headers safe, golden files."""

from __future__ import annotations

import html
import os
import re
from datetime import timedelta
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from email_helpers import BREAKING, SECRET, T0, email_config, parse, post_at, subscriber

from publisher.config import Config
from publisher.content.post import Post
from publisher.newsletters.message import personalize
from publisher.newsletters.plan import Issue, issue_id
from publisher.newsletters.render import (
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_UNSUBSCRIBE,
    RenderedIssue,
    render_issue,
)
from publisher.newsletters.tokens import verify_token
from publisher.store import Store

GOLDEN = Path(__file__).parent / "golden" / "email"


def rendered_for(config: Config, posts: list[Post], more: int = 0) -> RenderedIssue:
    ids = tuple(p.id for p in posts)
    extra = tuple(f"https://newsdao.kr/extra/{n}/" for n in range(more))
    issue = Issue(issue_id("breaking", ids + extra), "breaking", ids, T0, extra)
    return render_issue(config, issue, posts)


def test_a_message_is_multipart_alternative_text_then_html_in_base64(
    tmp_path: Path, store: Store
) -> None:
    config = email_config(tmp_path)
    rendered = rendered_for(config, [post_at(1, T0)])
    sub = subscriber(store, "kim@example.com", name="김철수")
    out = personalize(config, rendered, sub, SECRET, T0)
    message = parse(out.data)
    assert message.get_content_type() == "multipart/alternative"
    text, body = message.iter_parts()
    assert (text.get_content_type(), body.get_content_type()) == ("text/plain", "text/html")
    for part in (text, body):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "base64"
    assert out.issue_id == rendered.issue.id
    assert out.subscriber_id == sub.id
    assert out.recipient == "kim@example.com"
    assert out.sender == "news@newsdao.kr"
    assert all(len(line) <= 998 for line in out.data.split(b"\r\n"))
    assert b"\n" not in out.data.replace(b"\r\n", b"")


def test_headers(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path, [{**BREAKING, "reply_to": "편집국 <desk@newsdao.kr>"}])
    rendered = rendered_for(config, [post_at(1, T0)])
    sub = subscriber(store, "kim@example.com", name="김철수")
    out = personalize(config, rendered, sub, SECRET, T0)
    message = parse(out.data)
    assert message["Subject"] == "[속보] 북·러 침략 시 상호 지원 협정 체결 1"
    assert b"Subject: =?utf-8?" in out.data  # RFC 2047
    assert message["From"] == "뉴스다오 속보 <news@newsdao.kr>"
    assert message["Reply-To"] == "편집국 <desk@newsdao.kr>"
    assert message["To"] == "김철수 <kim@example.com>"
    assert parsedate_to_datetime(message["Date"]) == T0
    assert message["Date"].endswith("+0900")
    assert message["Message-ID"] == out.message_id == f"<{rendered.issue.id}.{sub.id}@newsdao.kr>"
    assert message["List-Id"] == "뉴스다오 속보 <breaking.newsdao.kr>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert https.startswith("https://newsdao.kr/unsubscribe?token=")
    assert mailto.startswith("mailto:unsubscribe@newsdao.kr?subject=unsubscribe%20")
    token = https.partition("token=")[2]
    claims = verify_token(SECRET, token, T0)
    assert (claims.subscriber_id, claims.newsletter_id) == (sub.id, "breaking")
    assert claims.expires == T0 + config.email.token_max_age


def test_no_reply_to_unless_configured(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path)
    out = personalize(
        config,
        rendered_for(config, [post_at(1, T0)]),
        subscriber(store, "a@example.com"),
        SECRET,
        T0,
    )
    assert "Reply-To" not in parse(out.data)


def test_the_bodies_hold_this_subscribers_link_and_address(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path)
    rendered = rendered_for(config, [post_at(n, T0) for n in range(1, 4)])
    sub = subscriber(store, "a&b@example.com")
    message = parse(personalize(config, rendered, sub, SECRET, T0).data)
    text, body = message.iter_parts()
    link = str(message["List-Unsubscribe"]).split(">")[0].lstrip("<")
    # The pre-encoded start and the per-subscriber tail decode to the whole body.
    assert body.get_content() == rendered.html.replace(
        PLACEHOLDER_UNSUBSCRIBE, html.escape(link)
    ).replace(PLACEHOLDER_EMAIL, "a&amp;b@example.com")
    assert text.get_content() == rendered.text.replace(PLACEHOLDER_UNSUBSCRIBE, link).replace(
        PLACEHOLDER_EMAIL, "a&b@example.com"
    )


def test_message_ids_are_deterministic_and_unique_per_subscriber(
    tmp_path: Path, store: Store
) -> None:
    config = email_config(tmp_path)
    rendered = rendered_for(config, [post_at(1, T0)])
    one, two = subscriber(store, "a@example.com"), subscriber(store, "b@example.com")
    first = personalize(config, rendered, one, SECRET, T0)
    again = personalize(config, rendered_for(config, [post_at(1, T0)]), one, SECRET, T0)
    other = personalize(config, rendered, two, SECRET, T0)
    assert first.message_id == again.message_id
    assert first.data == again.data
    assert first.message_id != other.message_id


def test_no_header_injection_from_titles_or_names(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path)
    post = post_at(1, T0, title="속보\r\nBcc: evil@example.com\r\n\r\nbody")
    rendered = rendered_for(config, [post])
    sub = subscriber(store, "a@example.com", name="Kim\r\nBcc: evil@example.com")
    message = parse(personalize(config, rendered, sub, SECRET, T0).data)
    assert "Bcc" not in message
    assert sorted(message.keys()) == sorted(
        [
            "From", "Subject", "Date", "List-Id", "MIME-Version", "Content-Language",
            "Content-Type", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
        ]
    )  # fmt: skip
    assert message["Subject"] == "[속보] 속보 Bcc: evil@example.com body"
    assert message["To"].addresses[0].addr_spec == "a@example.com"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param('Kim "Reader" \\o/', id="ascii-quotes"),
        pytest.param("김철수", id="korean"),
        pytest.param("", id="no-name"),
    ],
)
def test_names_in_to_read_back(tmp_path: Path, store: Store, name: str) -> None:
    config = email_config(tmp_path)
    sub = subscriber(store, "a@example.com", name=name)
    out = personalize(config, rendered_for(config, [post_at(1, T0)]), sub, SECRET, T0)
    (address,) = parse(out.data)["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "a@example.com")


def test_a_long_korean_name_is_split_into_encoded_words(tmp_path: Path, store: Store) -> None:
    config = email_config(tmp_path)
    name = "김철수 " * 20
    sub = subscriber(store, "a@example.com", name=name.strip())
    out = personalize(config, rendered_for(config, [post_at(1, T0)]), sub, SECRET, T0)
    found = re.search(rb"\r\nTo: (.*?) <a@example.com>\r\n", out.data, re.DOTALL)
    assert found is not None
    words = found[1].decode("ascii")
    assert all(len(w) <= 75 for w in words.split())
    # RFC 2047: the folding between encoded-words is not part of the name. (The stdlib's
    # modern parser adds a space there in addresses; its legacy decoder follows the RFC.)
    assert str(make_header(decode_header(words))) == name.strip()


def test_without_an_unsubscribe_url_the_mailto_goes_to_the_sender(
    tmp_path: Path, store: Store
) -> None:
    config = email_config(tmp_path, email={"unsubscribe_url": "", "unsubscribe_mailto": ""})
    rendered = rendered_for(config, [post_at(1, T0)])
    message = parse(
        personalize(config, rendered, subscriber(store, "a@example.com"), SECRET, T0).data
    )
    (mailto,) = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert mailto.startswith("mailto:news@newsdao.kr?subject=unsubscribe%20")
    assert message["List-Unsubscribe-Post"] is None  # one-click needs an https link (RFC 8058)
    assert html.escape(mailto) in message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def normalize(data: bytes) -> bytes:
    """Boundaries and Message-IDs vary legitimately: replace them."""
    boundary = re.search(rb'boundary="([^"]+)"', data)
    assert boundary is not None
    data = data.replace(boundary[1], b"BOUNDARY")
    return re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <normalized@example>", data)


@pytest.mark.parametrize("case", ["alert", "digest"])
def test_golden_messages(tmp_path: Path, store: Store, case: str) -> None:
    config = email_config(tmp_path)
    posts = [post_at(1, T0)] if case == "alert" else [
        post_at(n, T0 - timedelta(hours=n), feature_text="" if n == 2 else "**속보** 입니다.")
        for n in (1, 2, 3)
    ]  # fmt: skip
    rendered = rendered_for(config, posts, more=0 if case == "alert" else 2)
    sub = subscriber(store, "reader@example.com", name="테스트 독자")
    data = normalize(personalize(config, rendered, sub, SECRET, T0).data)
    golden = GOLDEN / f"{case}.eml"
    if os.environ.get("PUBLISHER_REGEN_GOLDEN") == "1":
        golden.write_bytes(data)
    assert golden.exists(), "run with PUBLISHER_REGEN_GOLDEN=1 to create the golden files"
    assert data == golden.read_bytes(), f"{golden} differs; PUBLISHER_REGEN_GOLDEN=1 rewrites it"


def test_an_internationalised_domain_is_sent_as_punycode(tmp_path: Path, store: Store) -> None:
    from publisher.newsletters.subscribers import add_subscriber

    config = email_config(tmp_path)
    sub = add_subscriber(config, store, "reader@뉴스다오.한국", T0, name="독자")
    out = personalize(config, rendered_for(config, [post_at(1, T0)]), sub, SECRET, T0)
    assert out.recipient == "reader@xn--vg1b9h503bpmd.xn--3e0b707e"
    message = parse(out.data)
    assert message["To"].addresses[0].addr_spec == "reader@xn--vg1b9h503bpmd.xn--3e0b707e"
    assert "reader@뉴스다오.한국" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
