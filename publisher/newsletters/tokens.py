"""Signed unsubscribe tokens: who leaves which newsletter, until when, and an HMAC over it.

A token reads `<subscriber id>.<newsletter id>.<expiry, unix seconds>.<signature>`, all
URL-safe. The signature is HMAC-SHA256 with the secret held in the environment variable
named by `[email] secret_env`, cut to 128 bits; without the secret nobody can make a
token, so nobody can unsubscribe somebody else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from publisher.errors import ConfigError, Problem, TokenError

# Shorter secrets can be guessed offline from one token (32 bytes: HMAC-SHA256's own size).
MIN_SECRET_BYTES = 32
_TOKEN = re.compile(r"^(\d{1,18})\.([a-z0-9][a-z0-9_-]*)\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")


@dataclass(frozen=True)
class Claims:
    """What a valid token says: this subscriber leaves this newsletter; valid until `expires`."""

    subscriber_id: int
    newsletter_id: str
    expires: datetime


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


def _signature(secret: bytes, payload: str) -> str:
    mac = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def make_token(
    secret: bytes, subscriber_id: int, newsletter_id: str, now: datetime, max_age: timedelta
) -> str:
    """A token letting `subscriber_id` leave `newsletter_id`, valid for `max_age` from `now`."""
    expires = int((now + max_age).timestamp())
    payload = f"{subscriber_id}.{newsletter_id}.{expires}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_token(secret: bytes, token: str, now: datetime) -> Claims:
    """The claims of a genuine, unexpired token; TokenError saying what is wrong otherwise."""
    match = _TOKEN.match(token.strip())
    if match is None:
        raise TokenError(
            f"{token[:80]!r} is not an unsubscribe token: copy the whole link from the email"
        )
    sid, newsletter_id, expires_at, signature = match.groups()
    payload = f"{sid}.{newsletter_id}.{expires_at}"
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise TokenError(
            "the unsubscribe token's signature does not match: it was altered, or signed "
            "with another secret (was the secret environment variable changed?)"
        )
    expires = datetime.fromtimestamp(int(expires_at), UTC)
    if now > expires:
        raise TokenError(
            f"the unsubscribe token expired on {expires.isoformat()}: use the link in a "
            "more recent email, or ask to be removed with 'publisher subscribers remove'"
        )
    return Claims(int(sid), newsletter_id, expires)
