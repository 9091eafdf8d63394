"""The config file: the example loads and documents every key; mistakes are all reported."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from publisher.config import Config, find_config, load_config
from publisher.errors import ConfigError

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config.example.toml"


def _keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(table, key) for every field of the config models, nested tables included."""
    found = []
    for name, field in model.model_fields.items():
        if model is Config and name == "path":
            continue
        annotation = field.annotation
        inner = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        target = inner[0] if inner else annotation
        if isinstance(target, type) and issubclass(target, BaseModel):
            found.extend(_keys(target, f"{prefix}.{name}" if prefix else name))
        else:
            found.append((prefix, name))
    return found


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.site.url == "https://newsdao.kr/"
    assert config.content.dir == ROOT / "content"
    assert config.store.path == ROOT / "state" / "publisher.sqlite3"


@pytest.mark.parametrize(("table", "key"), _keys(Config), ids=lambda v: v or "top")
def test_example_config_documents_every_key(table: str, key: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    # The key appears (set or commented out) with a comment line right above it.
    pattern = rf"(?m)^#[^\n]*\n(?:#[^\n]*\n)*#? ?{re.escape(key)} = "
    assert re.search(pattern, text), f"config.example.toml does not document [{table}] {key}"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "publisher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\ntitel = "x"\nurl = "newsdao.kr"\ntimezone = "Seoul"\n'
        '[content]\nexcerpt_length = -1\n[feeds]\nlimit = "ten"\n',
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).splitlines() == [
        f"{path}: the config has 6 problems",
        f"{path}: [site] title: missing, and it has no default: add it",
        f"{path}: [site] url: expected an absolute http(s) URL such as 'https://example.com/', "
        "got 'newsdao.kr'",
        f"{path}: [site] timezone: unknown time zone 'Seoul': use an IANA name such as "
        "'Asia/Seoul' or 'UTC'",
        f"{path}: unknown key '[site] titel': did you mean 'title'?",
        f"{path}: [content] excerpt_length: input should be greater than or equal to 0, got -1",
        f"{path}: [feeds] limit: input should be a valid integer, unable to parse string as an "
        "integer, got 'ten'",
    ]


def test_a_secret_in_the_config_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\ntitle = "x"\nurl = "https://x.kr/"\n[delivery.smtp]\npassword = "hunter2"\n',
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "unknown key '[delivery] smtp.password': did you mean 'password_env'?" in str(e.value)
    assert "hunter2" not in str(e.value)


def test_numeric_day_of_week_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\ntitle = "x"\nurl = "https://x.kr/"\n'
        '[[newsletters]]\nid = "weekly"\nname = "W"\nsender = "a@x.kr"\nschedule = "0 7 * * 1"\n',
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert (
        "newsletters[0].schedule: day of week '1' is a number, which APScheduler reads from "
        "Monday (1 is Tuesday): use day names such as 'mon-fri' or 'sun'"
    ) in str(e.value)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[site\ntitle = "x"\n')
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}: not valid TOML (")
    assert str(e.value).endswith("): fix the line it names")


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    path = write(tmp_path / "site", '[site]\ntitle = "x"\nurl = "https://x.kr/blog"\n')
    config = load_config(path)
    assert config.content.dir == tmp_path / "site" / "content"
    assert config.site.url == "https://x.kr/blog/"


def test_without_a_config_the_message_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        find_config(None, tmp_path)
    assert str(e.value) == (
        f"no publisher.toml in {tmp_path}: pass one with 'publisher -c config.example.toml ...', "
        "or copy config.example.toml to publisher.toml and edit it"
    )


def test_addresses_email_cannot_carry_are_refused(tmp_path: Path) -> None:
    # A Korean name is fine (headers encode it); a Korean mailbox needs SMTPUTF8: refused here,
    # not by a traceback when the first message is built.
    path = write(
        tmp_path,
        '[site]\ntitle = "x"\nurl = "https://x.kr/"\n'
        '[email]\nunsubscribe_mailto = "탈퇴@newsdao.kr"\n'
        '[[newsletters]]\nid = "n"\nname = "N"\nsender = "뉴스다오 <뉴스@newsdao.kr>"\n'
        'reply_to = "데스크 <desk@newsdao.kr>"\n',
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    lines = str(e.value).splitlines()
    assert lines[0] == f"{path}: the config has 2 problems"
    assert lines[1].startswith(
        f"{path}: [email] unsubscribe_mailto: '탈퇴@newsdao.kr' is not a usable email address ("
    )
    assert lines[2].startswith(
        f"{path}: newsletters[0].sender: '뉴스@newsdao.kr' is not a usable email address ("
    )


def test_durations_out_of_range_are_named(tmp_path: Path) -> None:
    # inf and numbers past timedelta's range used to escape as an OverflowError traceback;
    # a negative max_age or token_max_age used to load and announce nothing, or make
    # unsubscribe links that were expired when sent.
    path = write(
        tmp_path,
        '[site]\ntitle = "x"\nurl = "https://x.kr/"\n'
        "[email]\ntoken_max_age = -5\n"
        '[[newsletters]]\nid = "n"\nname = "N"\nsender = "news@x.kr"\nmax_age = -3600\n'
        '[delivery]\nretry_after = "99999999999w"\n'
        "[delivery.smtp]\ntimeout = 99999999999999\n"
        "[schedule]\ninterval = inf\n",
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).splitlines() == [
        f"{path}: the config has 5 problems",
        f"{path}: [email] token_max_age: expected a positive duration such as '10s', '5m' or "
        "'24h', got -5",
        f"{path}: newsletters[0].max_age: expected a positive duration such as '10s', '5m' or "
        "'24h', got -3600",
        f"{path}: [delivery] smtp.timeout: expected a duration of at most 100 years ('36500d'), "
        "got 99999999999999",
        f"{path}: [delivery] retry_after: expected a duration of at most 100 years ('36500d'), "
        "got '99999999999w'",
        f"{path}: [schedule] interval: expected a duration of at most 100 years ('36500d'), "
        "got inf",
    ]


def test_a_secret_pasted_as_a_variable_name_is_not_repeated(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[site]\ntitle = "x"\nurl = "https://x.kr/"\n[email]\nsecret_env = "s3cr3t value"\n'
        '[delivery.smtp]\nusername = "news"\npassword_env = "Sup3r-Secret!"\n',
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    expected = (
        "expected the name of an environment variable such as PUBLISHER_SMTP_PASSWORD "
        "(letters, digits and _), not the secret itself: put the secret in that variable"
    )
    assert str(e.value).splitlines() == [
        f"{path}: the config has 2 problems",
        f"{path}: [email] secret_env: {expected}",
        f"{path}: [delivery] smtp.password_env: {expected}",
    ]
    assert "s3cr3t" not in str(e.value)
    assert "Sup3r-Secret!" not in str(e.value)


def test_a_path_key_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    # `path` is the loader's to set, so the file may not; that is one problem among the rest.
    path = write(tmp_path, 'path = "elsewhere.toml"\n[site]\ntitle = "x"\nurl = "x.kr"\n')
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).splitlines() == [
        f"{path}: the config has 2 problems",
        f"{path}: [site] url: expected an absolute http(s) URL such as 'https://example.com/', "
        "got 'x.kr'",
        f"{path}: unknown key 'path': remove it, or see config.example.toml for the keys there are",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://exa mple.com/",
            "has no host name a browser can reach: write one such as 'https://example.com/'",
            id="space-in-host",
        ),
        pytest.param("https://a..kr/", "has no host name a browser can reach", id="empty-label"),
        pytest.param("https://:443/", "has no host name a browser can reach", id="no-host"),
        pytest.param("https://example.com:99999/", "has a port that is not one", id="port"),
    ],
)
def test_a_url_no_browser_can_reach_is_refused(tmp_path: Path, url: str, expected: str) -> None:
    path = write(tmp_path, f'[site]\ntitle = "x"\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert f"{path}: [site] url: '{url}' {expected}" in str(e.value)


@pytest.mark.parametrize(
    "url", ["https://뉴스다오.한국/", "http://127.0.0.1:8080/구독/", "https://[::1]:8443/"]
)
def test_an_international_host_a_path_of_any_letters_and_ipv6_are_fine(
    tmp_path: Path, url: str
) -> None:
    assert load_config(write(tmp_path, f'[site]\ntitle = "x"\nurl = "{url}"\n')).site.url == url
