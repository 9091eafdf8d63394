"""One MIME message per subscriber, built from an issue rendered and encoded once.

Building a full `EmailMessage` per subscriber costs milliseconds, so `prepare` makes the
shared bytes of a `RenderedIssue` once: the common headers (RFC 2047 encoded by the
stdlib) and both parts base64-encoded up to the 57-byte line before their first
per-subscriber placeholder.
`address` then encodes only each part's tail with the subscriber's link and address,
which gives exactly the bytes of encoding the whole part (base64 lines are 57 bytes).
Korean text goes base64: quoted-printable would triple every byte.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parseaddr
from urllib.parse import quote, urlsplit

from publisher.config import Config
from publisher.content.urls import iri_to_uri
from publisher.delivery import OutgoingMessage
from publisher.newsletters.render import RenderedIssue
from publisher.newsletters.templates import (
    PLACEHOLDER_EMAIL,
    PLACEHOLDER_PREFERENCES,
    PLACEHOLDER_UNSUBSCRIBE,
)
from publisher.newsletters.tokens import make_token
from publisher.store.subscribers import Subscriber

__all__ = [
    "SharedParts",
    "address",
    "personalize",
    "preferences_link",
    "prepare",
    "preview_html",
    "reader_tokens",
    "standalone",
    "unsubscribe_links",
]

_LINE = 57  # bytes per base64 line of 76 characters
_URL_BYTES = PLACEHOLDER_UNSUBSCRIBE.encode("ascii")
_EMAIL_BYTES = PLACEHOLDER_EMAIL.encode("ascii")
_PREFERENCES_BYTES = PLACEHOLDER_PREFERENCES.encode("ascii")
_PART_HEAD = (
    'Content-Type: text/{kind}; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
)


@dataclass(frozen=True)
class _Part:
    """A body part: the base64 of its static start, and the raw tail that holds placeholders."""

    head: bytes
    tail: bytes


@dataclass(frozen=True)
class SharedParts:
    """Everything about an issue's message that is the same for every subscriber."""

    issue_id: str
    newsletter_id: str
    headers: bytes
    text: _Part
    html: _Part
    boundary: bytes
    envelope_sender: str
    message_id_domain: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    web_url: str  # [web] base_url: links to the reader's pages; '' without the web app


def _encode(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _split(body: str) -> _Part:
    data = body.encode("utf-8")
    found = [
        i
        for i in (data.find(_URL_BYTES), data.find(_EMAIL_BYTES), data.find(_PREFERENCES_BYTES))
        if i >= 0
    ]
    cut = (min(found, default=len(data)) // _LINE) * _LINE
    return _Part(head=_encode(data[:cut]), tail=data[cut:])


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2] or "localhost"
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"


def prepare(config: Config, rendered: RenderedIssue) -> SharedParts:
    """Encode the headers and body parts every subscriber's copy of `rendered` shares."""
    issue, subject = rendered.issue, rendered.subject
    newsletter = config.newsletter(issue.newsletter_id)
    sender = _ascii_address(parseaddr(newsletter.sender)[1])
    boundary = "==_publisher_" + hashlib.sha256(issue.id.encode("utf-8")).hexdigest()[:24]
    site_host = urlsplit(config.site.url).hostname or _domain(sender)
    name, _ = parseaddr(newsletter.sender)
    lines = [b"From: " + _mailbox(name, sender)]
    if newsletter.reply_to:
        reply_name, reply_address = parseaddr(newsletter.reply_to)
        lines.append(b"Reply-To: " + _mailbox(reply_name, _ascii_address(reply_address)))
    lines += [
        b"Subject: " + _unstructured(subject),
        f"Date: {format_datetime(issue.created.astimezone(config.site.tz))}".encode("ascii"),
        b"List-Id: " + _mailbox(newsletter.name, f"{newsletter.id}.{_ascii_host(site_host)}"),
        b"MIME-Version: 1.0",
        b"Content-Language: " + _unstructured(config.site.language),
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"'.encode("ascii"),
    ]
    headers = b"\r\n".join(lines) + b"\r\n"
    return SharedParts(
        issue_id=issue.id,
        newsletter_id=newsletter.id,
        headers=headers,
        text=_split(rendered.text),
        html=_split(rendered.html),
        boundary=boundary.encode("ascii"),
        envelope_sender=sender,
        message_id_domain=_domain(sender),
        unsubscribe_url=iri_to_uri(config.email.unsubscribe_url),
        unsubscribe_mailto=_ascii_address(config.email.unsubscribe_mailto) or sender,
        web_url=iri_to_uri(config.web.base_url) if config.web else "",
    )


def _ascii_address(address: str) -> str:
    if not address:
        return ""
    local, _, domain = address.rpartition("@")
    return f"{local}@{_ascii_host(domain)}"


def _ascii_host(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def unsubscribe_links(shared: SharedParts, token: str) -> tuple[str, str]:
    """(https link or '', mailto link) that unsubscribe the holder of `token`: the web
    app's page when [web] is set, else `[email] unsubscribe_url?token=`."""
    url = ""
    if shared.web_url:
        url = f"{shared.web_url}unsubscribe/{token}"
    elif shared.unsubscribe_url:
        joiner = "&" if "?" in shared.unsubscribe_url else "?"
        url = f"{shared.unsubscribe_url}{joiner}token={token}"
    mailto = f"mailto:{shared.unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}"
    return url, mailto


def _words(text: str) -> bytes:
    """RFC 2047 base64 encoded-words for `text`, folded; spaces stay inside the words."""
    words = []
    chunk = ""
    for c in text:
        # 45 bytes encode to 60 characters: each word stays under the 75 RFC 2047 allows.
        if len((chunk + c).encode("utf-8")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += c
    words.append(chunk)
    return "\r\n ".join(
        "=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words
    ).encode("ascii")


def _unstructured(text: str) -> bytes:
    """A header value such as Subject: as it is when short ASCII, else encoded-words."""
    text = "".join(c for c in text if c.isprintable())
    if text.isascii() and len(text) <= 900 and "=?" not in text:
        return text.encode("ascii")
    return _words(text)


def _mailbox(name: str, address: str) -> bytes:
    """`name <address>` for a header: quoted if ASCII, RFC 2047 encoded-words otherwise."""
    name = "".join(c for c in name if c.isprintable())
    if not name:
        return address.encode("ascii")
    if name.isascii() and "=?" not in name:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'.encode("ascii")
    return _words(name) + f" <{address}>".encode("ascii")


def preferences_link(shared: SharedParts, token: str) -> str:
    """The link to the reader's preferences page (signed by `token`), or '' without [web]."""
    return f"{shared.web_url}preferences/{token}" if shared.web_url and token else ""


def _fill(part: _Part, link: bytes, email: bytes, preferences: bytes) -> bytes:
    tail = part.tail.replace(_URL_BYTES, link).replace(_EMAIL_BYTES, email)
    return part.head + _encode(tail.replace(_PREFERENCES_BYTES, preferences))


def personalize(
    config: Config, rendered: RenderedIssue, subscriber: Subscriber, secret: bytes, now: datetime
) -> OutgoingMessage:
    """The finished message of `rendered` for `subscriber`, its links' tokens signed now.

    For one message; many share one `prepare` and call `address` for each subscriber.
    """
    shared = prepare(config, rendered)
    unsubscribe, preferences = reader_tokens(
        secret, subscriber, shared.newsletter_id, now, config.email.token_max_age
    )
    return address(shared, subscriber, unsubscribe, preferences)


def reader_tokens(
    secret: bytes, subscriber: Subscriber, newsletter_id: str, now: datetime, max_age: timedelta
) -> tuple[str, str]:
    """The tokens of a reader's links in an email of `newsletter_id`: (unsubscribe from it,
    open the preferences page), each signed for `max_age` from `now`."""
    sub = subscriber.subscription(newsletter_id)
    version = sub.version if sub else 1
    sid = subscriber.id
    return (
        make_token(secret, sid, newsletter_id, now, max_age, version=version),
        make_token(secret, sid, newsletter_id, now, max_age, version=version, kind="p"),
    )


def address(
    shared: SharedParts, subscriber: Subscriber, token: str, preferences_token: str = ""
) -> OutgoingMessage:
    """The finished message of `shared` for `subscriber`, unsubscribing with `token` and
    opening their preferences with `preferences_token`."""
    url, mailto = unsubscribe_links(shared, token)
    link = url or mailto
    preferences = preferences_link(shared, preferences_token).encode("ascii")
    message_id = f"<{shared.issue_id}.{subscriber.id}@{shared.message_id_domain}>"
    listed = f"<{url}>,\r\n <{mailto}>" if url else f"<{mailto}>"
    boundary = shared.boundary
    data = b"".join(
        (
            shared.headers,
            b"To: ",
            _mailbox(subscriber.name, subscriber.email),
            b"\r\nMessage-ID: ",
            message_id.encode("ascii"),
            b"\r\nList-Unsubscribe: ",
            listed.encode("ascii"),
            # RFC 8058: one-click means a POST to an https link; a mailto alone cannot take it.
            b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click" if url else b"",
            b"\r\n\r\n--",
            boundary,
            b"\r\n",
            _PART_HEAD.format(kind="plain").encode("ascii"),
            _fill(
                shared.text,
                link.encode("ascii"),
                subscriber.display_email.encode("utf-8"),
                preferences,
            ),
            b"\r\n--",
            boundary,
            b"\r\n",
            _PART_HEAD.format(kind="html").encode("ascii"),
            _fill(
                shared.html,
                html.escape(link).encode("ascii"),
                html.escape(subscriber.display_email).encode("utf-8"),
                html.escape(preferences.decode("ascii")).encode("ascii"),
            ),
            b"\r\n--",
            boundary,
            b"--\r\n",
        )
    )
    return OutgoingMessage(
        issue_id=shared.issue_id,
        subscriber_id=subscriber.id,
        recipient=subscriber.email,
        sender=shared.envelope_sender,
        message_id=message_id,
        data=data,
    )


def preview_html(config: Config, rendered: RenderedIssue, email: str) -> str:
    """The issue's HTML as `email` would see it, with a dummy unsubscribe token."""
    shared = prepare(config, rendered)
    url, mailto = unsubscribe_links(shared, "preview")
    return (
        rendered.html.replace(PLACEHOLDER_UNSUBSCRIBE, html.escape(url or mailto))
        .replace(PLACEHOLDER_EMAIL, html.escape(email))
        .replace(PLACEHOLDER_PREFERENCES, html.escape(preferences_link(shared, "preview")))
    )


def standalone(
    *,
    sender: str,
    to_name: str,
    to_email: str,
    subject: str,
    text: str,
    html_body: str,
    when: datetime,
    language: str,
    message_id: str,
    issue_id: str,
    subscriber_id: int,
) -> OutgoingMessage:
    """One message that is not an issue's (the confirmation email): `sender` as in a
    newsletter's config, the same encodings as the issues' messages."""
    name, address_ = parseaddr(sender)
    envelope = _ascii_address(address_)
    boundary = "==_publisher_" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:24]
    head = b"\r\n".join(
        (
            b"From: " + _mailbox(name, envelope),
            b"To: " + _mailbox(to_name, to_email),
            b"Subject: " + _unstructured(subject),
            f"Date: {format_datetime(when)}".encode("ascii"),
            f"Message-ID: {message_id}".encode("ascii"),
            b"Auto-Submitted: auto-generated",
            b"MIME-Version: 1.0",
            b"Content-Language: " + _unstructured(language),
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"'.encode("ascii"),
        )
    )
    parts = b"".join(
        b"\r\n--"
        + boundary.encode("ascii")
        + b"\r\n"
        + _PART_HEAD.format(kind=kind).encode("ascii")
        + _encode(body.encode("utf-8"))
        for kind, body in (("plain", text), ("html", html_body))
    )
    return OutgoingMessage(
        issue_id=issue_id,
        subscriber_id=subscriber_id,
        recipient=to_email,
        sender=envelope,
        message_id=message_id,
        data=head + b"\r\n" + parts + b"\r\n--" + boundary.encode("ascii") + b"--\r\n",
    )
