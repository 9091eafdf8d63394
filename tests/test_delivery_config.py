"""The [delivery], [delivery.smtp] and [schedule] settings: defaults and wrong values."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_config

from publisher.delivery import check_delivery
from publisher.errors import ConfigError


def test_defaults_need_no_server(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert config.delivery.method == "outbox"
    assert config.delivery.outbox_dir == tmp_path / "outbox"
    assert config.delivery.retry_after == timedelta(minutes=5)
    assert (config.delivery.smtp.security, config.delivery.smtp.rate) == ("starttls", None)
    assert config.schedule.interval == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        pytest.param(
            {"delivery": {"smtp": {"username": "news"}}},
            "[delivery] smtp: username 'news' needs password_env: set it to the name of the "
            "environment variable that holds the password",
            id="username-without-password-env",
        ),
        pytest.param(
            {"delivery": {"smtp": {"password": "hunter2"}}},
            "unknown key '[delivery] smtp.password': did you mean 'password_env'?",
            id="password-in-the-file",
        ),
        pytest.param(
            {"delivery": {"retry_after": "0s"}},
            "[delivery] retry_after: expected a positive duration such as '10s', '5m' or '24h', "
            "got '0s'",
            id="no-wait",
        ),
        pytest.param(
            {"delivery": {"smtp": {"timeout": -30}}},
            "[delivery] smtp.timeout: expected a positive duration such as '10s', '5m' or '24h', "
            "got -30",
            id="negative-timeout",
        ),
        pytest.param(
            {"delivery": {"smtp": {"password_env": 12345678}}},
            "[delivery] smtp.password_env: expected the name of an environment variable such as "
            "PUBLISHER_SMTP_PASSWORD (letters, digits and _), not the secret itself: put the "
            "secret in that variable",
            id="password-as-a-number",
        ),
        pytest.param(
            {"delivery": {"method": "sendmail"}},
            "[delivery] method: input should be 'outbox' or 'smtp'",
            id="unknown-method",
        ),
        pytest.param(
            {"delivery": {"smtp": {"security": "tls"}}},
            "[delivery] smtp.security: input should be 'starttls', 'ssl' or 'none'",
            id="unknown-security",
        ),
        pytest.param(
            {"schedule": {"interval": "soon"}},
            "[schedule] interval: expected a duration such as '30m', '24h' or '7d', got 'soon'",
            id="interval-not-a-duration",
        ),
        pytest.param(
            {"schedule": {"interval": math.nan}},
            "[schedule] interval: expected a duration such as '30m', '24h' or '7d', got nan",
            id="interval-nan",
        ),
        pytest.param(
            {"schedule": {"interval": "0.5s"}},
            "[schedule] interval: expected a duration of at least '1s' such as '5m', "
            "got 0:00:00.500000",
            id="interval-under-a-second",
        ),
    ],
)
def test_wrong_values_are_named(tmp_path: Path, sections: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        make_config(tmp_path, **sections)  # type: ignore[arg-type]
    assert message in str(e.value)


def test_check_names_a_missing_password_variable(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        delivery={"method": "smtp", "smtp": {"username": "news", "password_env": "SMTP_PW"}},
    )
    assert check_delivery(config.delivery, {"SMTP_PW": "secret"}) == []
    (problem,) = check_delivery(config.delivery, {})
    assert str(problem) == (
        "[delivery.smtp] password_env: the environment variable SMTP_PW (named by "
        "[delivery.smtp] password_env) is not set: export the SMTP password for 'news' in it"
    )


def test_check_names_an_outbox_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    config = make_config(tmp_path, delivery={"outbox_dir": "taken/outbox"})
    (problem,) = check_delivery(config.delivery, {})
    assert problem.where == "[delivery] outbox_dir"
    assert "cannot create or write the outbox there" in problem.message
    assert check_delivery(make_config(tmp_path).delivery, {}) == []
