"""Signed links for readers: leave one newsletter, open their preferences, confirm an address.

A token reads `<kind>.<subscriber id>.<newsletter id>.<version>.<expiry>.<signature>`, all
URL-safe ASCII: `kind` is `u` (unsubscribe from that newsletter), `p` (the preferences
page, from an email of that newsletter) or `c` (confirm the address; the newsletter is
`_`); `version` is the subscription's version when the email was made, so a link from
before the reader subscribed again no longer unsubscribes them; the expiry is in unix
seconds. The signature is HMAC-SHA256 over the rest with the secret held in the
environment variable named by `[email] secret_env`, cut to 128 bits: without the secret
nobody can make a token, so nobody can act for somebody else.

A `c` token confirms only what is still pending, so an old confirmation link cannot bring
back someone who left; a `p` token's version is not checked, as the preferences page
changes nothing until the reader saves it.

Tokens of the first format, `<subscriber id>.<newsletter id>.<expiry>.<signature>` (emails
sent before the web app), still unsubscribe from the newsletter they name until they
expire; they count as version 1, the version every subscription had then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from publisher.errors import ConfigError, Problem, TokenError

# Shorter secrets can be guessed offline from one token (32 bytes: HMAC-SHA256's own size).
MIN_SECRET_BYTES = 32
# No genuine token is longer; anything longer is refused before it is parsed.
MAX_TOKEN_LENGTH = 160
NO_NEWSLETTER = "_"

Kind = Literal["u", "p", "c"]
Reason = Literal["malformed", "forged", "expired", "kind", "stale", "unknown"]

_NEWSLETTER = r"[a-z0-9][a-z0-9_-]{0,63}"
_TOKEN = re.compile(
    rf"([upc])\.([0-9]{{1,18}})\.({_NEWSLETTER}|_)\.([0-9]{{1,9}})\.([0-9]{{1,12}})\."
    r"([A-Za-z0-9_-]{22})",
    re.ASCII,
)
_FIRST_FORMAT = re.compile(
    rf"([0-9]{{1,18}})\.({_NEWSLETTER})\.([0-9]{{1,12}})\.([A-Za-z0-9_-]{{22}})", re.ASCII
)
_WHAT = {"u": "an unsubscribe link", "p": "a preferences link", "c": "a confirmation link"}


class BadToken(TokenError):
    """A token that cannot be used; `reason` says why, for a page in the reader's language."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Claims:
    """What a valid token says: this subscriber may do `kind` for this newsletter, as of
    subscription `version`, until `expires`."""

    subscriber_id: int
    newsletter_id: str
    expires: datetime
    version: int = 1
    kind: Kind = "u"


def _how_to_set(name: str) -> str:
    return (
        f"set the environment variable {name} to a long random value, e.g. "
        f"export {name}=$(python3 -c 'import secrets; print(secrets.token_hex(32))'), "
        "and keep it: links already sent stop working when it changes"
    )


def load_secret(name: str, environ: Mapping[str, str]) -> bytes:
    """The signing secret from the environment variable `name` ([email] secret_env);
    ConfigError saying what to set when absent or shorter than MIN_SECRET_BYTES."""
    if not name:
        raise ConfigError(
            "[email] secret_env is empty: name the environment variable that holds the secret "
            'unsubscribe links are signed with (e.g. secret_env = "PUBLISHER_SECRET")'
        )
    value = environ.get(name, "")
    if not value:
        raise ConfigError(
            f"no secret for unsubscribe links: the environment variable {name} "
            f"(named by [email] secret_env) is not set: {_how_to_set(name)}"
        )
    secret = value.encode("utf-8")
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"the secret in {name} is {len(secret)} bytes long, shorter than "
            f"{MIN_SECRET_BYTES}: {_how_to_set(name)}"
        )
    return secret


def check_secret(name: str, environ: Mapping[str, str]) -> list[Problem]:
    """Problems with the unsubscribe secret in variable `name` (missing, or too short)."""
    try:
        load_secret(name, environ)
    except ConfigError as e:
        return [Problem("[email] secret_env", str(e))]
    return []


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for another use of the secret (the web app's form tokens), independent of the
    tokens' signatures."""
    return hmac.new(secret, b"publisher/" + purpose.encode("ascii"), hashlib.sha256).digest()


def _signature(secret: bytes, payload: str) -> str:
    mac = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def make_token(
    secret: bytes,
    subscriber_id: int,
    newsletter_id: str,
    now: datetime,
    max_age: timedelta,
    *,
    version: int = 1,
    kind: Kind = "u",
) -> str:
    """A token letting `subscriber_id` do `kind` for `newsletter_id` (subscription
    `version`), valid for `max_age` from `now`."""
    expires = int((now + max_age).timestamp())
    payload = f"{kind}.{subscriber_id}.{newsletter_id}.{version}.{expires}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_token(secret: bytes, token: str, now: datetime, kind: Kind = "u") -> Claims:
    """The claims of a genuine, unexpired token of `kind`; BadToken saying what is wrong
    otherwise. Any text is safe to pass: nothing but a well-formed token is parsed."""
    text = token.strip()
    what = _WHAT[kind]
    claims = None
    if len(text) <= MAX_TOKEN_LENGTH and text.isascii():
        claims, payload, signature = _parse(text)
    if claims is None:
        shown = token[:80].encode("ascii", "backslashreplace").decode("ascii")
        raise BadToken(
            f"{shown!r} is not {what}'s token: copy the whole link from the email", "malformed"
        )
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise BadToken(
            f"{what}'s signature does not match: it was altered, or "
            "signed with another secret (was the secret environment variable changed?)",
            "forged",
        )
    if claims.kind != kind:
        raise BadToken(
            f"this is {_WHAT[claims.kind]}, not {what}: use the link the email gives for it",
            "kind",
        )
    if now > claims.expires:
        raise BadToken(
            f"{what} expired on {claims.expires.isoformat()}: use the link in a more recent "
            "email, or ask to be removed with 'publisher subscribers remove'",
            "expired",
        )
    return claims


def _parse(text: str) -> tuple[Claims | None, str, str]:
    """(claims, signed payload, signature) of a token's text; claims None when malformed."""
    match = _TOKEN.fullmatch(text)
    if match:
        kind, sid, newsletter_id, version, expires_at, signature = match.groups()
        payload = text.rpartition(".")[0]
        return (
            Claims(
                int(sid),
                newsletter_id,
                _expiry(expires_at),
                int(version),
                kind,  # type: ignore[arg-type]
            ),
            payload,
            signature,
        )
    match = _FIRST_FORMAT.fullmatch(text)
    if match:
        sid, newsletter_id, expires_at, signature = match.groups()
        claims = Claims(int(sid), newsletter_id, _expiry(expires_at), 1, "u")
        return claims, text.rpartition(".")[0], signature
    return None, "", ""


# The last second datetime can hold: a forged expiry past it is still only a forgery.
_LAST = 253_402_300_799  # 9999-12-31T23:59:59Z


def _expiry(seconds: str) -> datetime:
    return datetime.fromtimestamp(min(int(seconds), _LAST), UTC)


def token_from(text: str) -> str:
    """The token in what a reader or a mailbox passes on: the bare token, the whole link
    (`.../unsubscribe/TOKEN`, `...?token=TOKEN`), the mailto link, or its subject
    `unsubscribe TOKEN`. Anything else comes back as given, for `verify_token` to refuse."""
    text = text.strip()
    if len(text) > 4 * MAX_TOKEN_LENGTH:
        return text
    parts = urlsplit(text)
    if parts.scheme.lower() == "mailto":
        subject = parse_qs(parts.query).get("subject", [""])[0]
        return token_from(subject) if subject else text
    if parts.scheme.lower() in ("http", "https"):
        query = parse_qs(parts.query).get("token")
        if query:
            return query[0].strip()
        return unquote(parts.path.rstrip("/").rpartition("/")[2])
    words = text.split()
    if len(words) == 2 and words[0].lower().rstrip(":") == "unsubscribe":
        return words[1]
    return text
