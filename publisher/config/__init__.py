"""Read `publisher.toml` into a frozen `Config`, reporting every wrong key at once.

The tables and their checks are in `schema` (the email side's in `mailing`, the kinds of
value in `values`), the checks of settings taken together in
`checks` (folders, outputs in `outputs`, one-line values, secret variables); this module
finds and reads the file and turns every problem into one that names the key, what was
expected and the fix. A config with any problem is never returned: nothing is written
with it.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from publisher.config.checks import check_settings
from publisher.config.jekyll import with_jekyll
from publisher.config.mailing import (
    ArchiveConfig,
    DeliveryConfig,
    EmailConfig,
    NewsletterConfig,
    SmtpConfig,
    SubscriberConfig,
    WebConfig,
)
from publisher.config.schema import (
    Config,
    ContentConfig,
    FeedsConfig,
    ScheduleConfig,
    SiteConfig,
    StoreConfig,
)
from publisher.errors import ConfigError, Problem

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ArchiveConfig",
    "Config",
    "ContentConfig",
    "DeliveryConfig",
    "EmailConfig",
    "FeedsConfig",
    "NewsletterConfig",
    "ScheduleConfig",
    "SiteConfig",
    "SmtpConfig",
    "StoreConfig",
    "SubscriberConfig",
    "WebConfig",
    "find_config",
    "load_config",
    "parse_config",
    "read_config",
]

DEFAULT_CONFIG_NAME = "publisher.toml"


def find_config(path: Path | None, cwd: Path) -> Path:
    """The config file to use: the one given, else publisher.toml in `cwd`."""
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file: check the path given with -c")
        return path
    candidate = cwd / DEFAULT_CONFIG_NAME
    if not candidate.is_file():
        raise ConfigError(
            f"no {DEFAULT_CONFIG_NAME} in {cwd}: pass one with "
            f"'publisher -c config.example.toml ...', or copy config.example.toml "
            f"to {DEFAULT_CONFIG_NAME} and edit it"
        )
    return candidate


def load_config(path: Path) -> Config:
    """Read and check a TOML config file; every problem is reported in one ConfigError."""
    config, problems = read_config(path)
    if problems:
        raise _error(path, problems)
    return config


def read_config(path: Path) -> tuple[Config, list[Problem]]:
    """Read a TOML config file whose keys are each valid, and the settings in it that cannot
    work together, so that `publisher check` can check posts and templates with it too.

    A file that cannot be read or parsed, or holds a key that is not valid, raises
    ConfigError with every problem in it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file ({e})") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}): fix the line it names") from e
    config, problems = _validated(data, path)
    if config is None:
        raise _error(path, problems)
    return config, problems


def parse_config(data: dict[str, Any], path: Path) -> Config:
    """Check an already-parsed TOML table, as found in the file at `path`."""
    config, problems = _validated(data, path)
    if config is None or problems:
        raise _error(path, problems)
    return config


def _validated(data: dict[str, Any], path: Path) -> tuple[Config | None, list[Problem]]:
    # A Jekyll site's _config.yml fills in what this file leaves unset.
    data, problems = with_jekyll(data, path.resolve().parent)
    config: Config | None = None
    try:
        # `path` is the loader's to set: a `path` key in the file is unknown like any other.
        config = Config.model_validate(
            {**{k: v for k, v in data.items() if k != "path"}, "path": path.resolve()},
            context={"base_dir": path.resolve().parent},
        )
    except ValidationError as e:
        problems += [_problem(path, err) for err in e.errors()]
    else:
        # Settings that are each fine but cannot work together: before anything is written.
        problems += [Problem(str(path), message) for message in check_settings(config)]
    if "path" in data:
        problems.append(_problem(path, {"type": "extra_forbidden", "loc": ("path",)}))
        config = None
    return config, problems


def _error(path: Path, problems: list[Problem]) -> ConfigError:
    count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
    return ConfigError(f"{path}: the config has {count}", problems)


def _key_name(loc: tuple[int | str, ...]) -> str:
    """('newsletters', 0, 'schedule') -> 'newsletters[0].schedule'; tables in brackets."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + part
    if len(loc) > 1 and isinstance(loc[0], str) and isinstance(loc[1], str):
        # [site] url reads like the file does
        head, _, rest = name.partition(".")
        return f"[{head}] {rest}"
    return name


def _problem(path: Path, err: Any) -> Problem:
    loc: tuple[int | str, ...] = tuple(
        p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))
    )
    kind = err["type"]
    key = _key_name(loc)
    if kind == "extra_forbidden":
        message = f"unknown key {key!r}"
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(loc[:-1]), n=1)
        if close:
            message += f": did you mean {close[0]!r}?"
        elif str(loc[-1]) in ("password", "secret", "token"):
            message += ": secrets never go in the config file; name an environment variable instead"
        else:
            message += ": remove it, or see config.example.toml for the keys there are"
        return Problem(str(path), message)
    if kind == "missing":
        return Problem(str(path), f"{key}: missing, and it has no default: add it")
    text = str(err["msg"]).removeprefix("Value error, ")
    if kind not in ("value_error", "assertion_error"):
        text = f"{text[:1].lower()}{text[1:]}, got {err.get('input')!r}"
    return Problem(str(path), f"{key}: {text}" if key else text)


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the table at `loc` accepts, for did-you-mean."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", None)
        model = args[0] if args and isinstance(args[0], type) else annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return [k for k in model.model_fields if k != "path"]
