"""Unsubscribe tokens: signed with the secret from the environment, refused when forged or old."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from email_helpers import SECRET, T0, email_config

from publisher.checks import check_site
from publisher.errors import ConfigError, TokenError
from publisher.newsletters.tokens import check_secret, load_secret, make_token, verify_token

YEAR = timedelta(days=365)


def test_a_token_says_who_leaves_which_newsletter_until_when() -> None:
    token = make_token(SECRET, 42, "breaking", T0, YEAR)
    claims = verify_token(SECRET, token, T0 + timedelta(days=300))
    assert (claims.subscriber_id, claims.newsletter_id) == (42, "breaking")
    assert claims.expires == T0 + YEAR
    assert token.startswith("u.42.breaking.1.")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: t.replace(".42.", ".43.", 1), id="other-subscriber"),
        pytest.param(lambda t: t.replace(".breaking.", ".daily.", 1), id="other-newsletter"),
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="changed-signature"),
        pytest.param(
            lambda t: make_token(b"another secret of 32 bytes......", 42, "breaking", T0, YEAR),
            id="other-secret",
        ),
    ],
)
def test_forged_tokens_are_refused(forge: object) -> None:
    token = forge(make_token(SECRET, 42, "breaking", T0, YEAR))  # type: ignore[operator]
    with pytest.raises(TokenError) as e:
        verify_token(SECRET, token, T0)
    assert "an unsubscribe link's signature does not match" in str(e.value)


def test_a_later_expiry_cannot_be_forged() -> None:
    kind, sid, newsletter, version, expires, signature = make_token(
        SECRET, 42, "breaking", T0, YEAR
    ).split(".")
    longer = f"{kind}.{sid}.{newsletter}.{version}.{int(expires) + 10**6}.{signature}"
    with pytest.raises(TokenError, match="signature does not match"):
        verify_token(SECRET, longer, T0)


def test_expired_tokens_are_refused_with_the_date() -> None:
    token = make_token(SECRET, 42, "breaking", T0, timedelta(days=1))
    verify_token(SECRET, token, T0 + timedelta(days=1))
    with pytest.raises(TokenError) as e:
        verify_token(SECRET, token, T0 + timedelta(days=1, seconds=1))
    assert "an unsubscribe link expired on 2024-06-20T11:00:00+00:00" in str(e.value)


@pytest.mark.parametrize(
    "token", ["", "hello", "42.breaking.123", "42.Bad Id.1.AAAAAAAAAAAAAAAAAAAAAA"]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TokenError, match="is not an unsubscribe link's token: copy the whole link"):
        verify_token(SECRET, token, T0)


def test_a_missing_secret_says_what_to_set(tmp_path: Path) -> None:
    config = email_config(tmp_path)
    (problem,) = check_secret(config.email.secret_env, {})
    assert problem.where == "[email] secret_env"
    assert "the environment variable PUBLISHER_SECRET (named by [email] secret_env) is not set" in (
        problem.message
    )
    assert "export PUBLISHER_SECRET=" in problem.message
    with pytest.raises(ConfigError, match="no secret for unsubscribe links"):
        load_secret(config.email.secret_env, {"OTHER": "x"})


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    config = email_config(tmp_path, email={"secret_env": "MY_SECRET"})
    (problem,) = check_secret(config.email.secret_env, {"MY_SECRET": "short"})
    assert not problem.warning
    assert "the secret in MY_SECRET is 5 bytes long, shorter than 32" in problem.message
    with pytest.raises(ConfigError, match="31 bytes long, shorter than 32"):
        load_secret(config.email.secret_env, {"MY_SECRET": SECRET.decode()[:31]})
    assert check_secret(config.email.secret_env, {"MY_SECRET": SECRET.decode()}) == []
    assert load_secret(config.email.secret_env, {"MY_SECRET": SECRET.decode()}) == SECRET


def test_no_newsletters_need_no_secret(tmp_path: Path) -> None:
    config = email_config(tmp_path, [])
    (tmp_path / "content").mkdir(exist_ok=True)
    assert [p for p in check_site(config, T0, {}).problems if "secret" in p.where] == []
