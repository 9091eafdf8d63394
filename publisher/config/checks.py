"""Settings that are each valid but cannot work together, checked before anything is written.

The schema checks each key alone; this looks at the places and values together:

- **Folders of their own.** The output, outbox, state and template folders may not be the
  content folder (the discovery snippet once overwrote a post), the root of the file
  system or the home folder.
- **Folders apart.** Nothing is written into the template folder: the output and outbox
  folders are neither it nor inside it.
- **Private data stays private.** The state file and the outbox hold addresses and
  unsubscribe links: neither may be inside the output folder, which is published.
- **One name, one output** (see `outputs`).
- **Values that end up in headers or XML attributes** (the language, names, addresses,
  URLs) are on one line, and the language is a language tag.
- **Secret variables are the user's own**: not a variable the system sets (PATH, HOME...).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from publisher.config.outputs import clashes, outputs
from publisher.config.schema import Config

# BCP 47, as feeds (xml:lang), emails (Content-Language) and <html lang> take it.
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
# Keys whose value may run over several lines: texts shown only in bodies, where they are
# put on one line (`content.clean.one_line`), never in a header or an attribute.
_MULTI_LINE = frozenset({"description", "contact_line"})
# Variables the system or the shell sets for its own use: never a secret.
_SYSTEM_WORDS = (
    "PATH HOME USER LOGNAME USERNAME SHELL PWD OLDPWD LANG LANGUAGE TERM TZ TMPDIR TEMP TMP "
    "HOSTNAME HOST MAIL EDITOR VISUAL PAGER DISPLAY SHLVL IFS PS1 PS2 PS4 UID EUID PPID "
    "GROUPS COLUMNS LINES HISTFILE CDPATH MAILPATH OSTYPE HOSTTYPE MACHTYPE PYTHONPATH "
    "PYTHONHOME VIRTUAL_ENV LD_LIBRARY_PATH LD_PRELOAD INVOCATION_ID JOURNAL_STREAM "
    "NOTIFY_SOCKET _ LS_COLORS LSCOLORS MANPATH INFOPATH PROMPT_COMMAND HTTP_PROXY "
    "HTTPS_PROXY FTP_PROXY NO_PROXY ALL_PROXY "
    "LESSOPEN LESSCLOSE LESS MOTD_SHOWN SHELL_SESSION_ID PIPENV_ACTIVE CONDA_DEFAULT_ENV"
)
_SYSTEM_VARIABLES = frozenset(_SYSTEM_WORDS.split())
_SYSTEM_PREFIXES = (
    "LC_", "XDG_", "SSH_", "DBUS_", "SUDO_", "BASH_", "GIT_", "LS_", "SYSTEMD_", "LESS",
    "HIST", "PYTHON", "CONDA_", "DOCKER_", "KUBERNETES_",
)  # fmt: skip


def check_settings(config: Config, home: Path | None = None) -> list[str]:
    """Every way the settings of `config` cannot work together: one message each, naming the
    key, what is wrong and the way out. `home` is the home folder (default: the user's)."""
    if home is None:
        try:
            home = Path.home()
        except RuntimeError:  # no HOME and no password entry: no home folder to protect
            home = Path(os.sep)
    return [
        *_own_folders(config, home),
        *_folders_apart(config),
        *_private_data(config),
        *_one_name_each(config),
        *_one_line_values(config),
        *_secret_variables(config),
    ]


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _own_folders(config: Config, home: Path) -> list[str]:
    content = _real(config.content.dir)
    places = [
        ("[feeds] output_dir", config.feeds.output_dir, "public"),
        ("[store] path", config.store.path.parent, "state/publisher.sqlite3"),
        ("[email] templates_dir", config.email.templates_dir, "email_templates"),
    ]
    if config.delivery.method == "outbox":
        places.append(("[delivery] outbox_dir", config.delivery.outbox_dir, "outbox"))
    found = []
    for key, folder, example in places:
        real = _real(folder)
        what = (
            "the content folder" if real == content
            else "the root of the file system" if real == os.sep
            else "the home folder" if real == _real(home)
            else ""
        )  # fmt: skip
        if what:
            of = " (the folder of the state file)" if key == "[store] path" else ""
            found.append(
                f"{key}: {folder}{of} is {what}: give it a folder of its own, such as '{example}'"
            )
    return found


def _folders_apart(config: Config) -> list[str]:
    found = []
    templates = _real(config.email.templates_dir)
    writers = [("[feeds] output_dir", config.feeds.output_dir)]
    if config.delivery.method == "outbox":
        writers.append(("[delivery] outbox_dir", config.delivery.outbox_dir))
    for key, folder in writers:
        real = _real(folder)
        if _inside(real, templates):
            where = (
                "is also [email] templates_dir"
                if real == templates
                else f"is inside [email] templates_dir ({config.email.templates_dir})"
            )
            found.append(
                f"{key}: {folder} {where}: a run's files would land among the templates (one "
                "could replace a template, and every run would find the templates changed); "
                "give each its own folder, side by side"
            )
    return found


def _private_data(config: Config) -> list[str]:
    out = _real(config.feeds.output_dir)
    private = [("[store] path", config.store.path, "the state file (subscribers' addresses)")]
    if config.delivery.method == "outbox":
        private.append(
            ("[delivery] outbox_dir", config.delivery.outbox_dir, "every email (addresses "
             "and unsubscribe links)")
        )  # fmt: skip
    return [
        f"{key}: {path} is inside [feeds] output_dir ({config.feeds.output_dir}), which is "
        f"published at {config.site.url}: {what} would be public; move it out of that folder"
        for key, path, what in private
        if _inside(_real(path), out)
    ]


def _one_name_each(config: Config) -> list[str]:
    return [
        f"{second.setting}: {second.path!r} is also the name of {first.setting}: the one "
        "written last would replace the other; give each output its own name"
        for first, second in clashes(outputs(config))
    ]


def _one_line_values(config: Config) -> list[str]:
    found = []
    language = config.site.language
    if _LANGUAGE.fullmatch(language) is None:
        found.append(
            f"[site] language: expected a language tag such as 'ko' or 'en-US', got {language!r}"
        )
    for name in ("icon", "logo"):
        link = getattr(config.site, name)
        scheme = _SCHEME.match(_SPACES.sub("", link).lower())
        if scheme and scheme[1] not in ("http", "https"):
            found.append(
                f"[site] {name}: {link!r} is not a web link: give a path on the site such as "
                f"'/assets/img/{name}.png', or an http(s) URL"
            )
    for key, value in _strings(config, ()):
        if key == ("site", "language"):
            continue  # a language tag has no room for them: said above
        if key[-1] not in _MULTI_LINE and _CONTROL.search(value):
            found.append(
                f"{_key_name(key)}: {value!r} holds a line break or another control "
                "character, and it goes into email headers or feeds: write it on one line"
            )
    return found


def _strings(value: Any, key: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every text value of the settings, with its key."""
    if isinstance(value, str):
        return [(key, value)]
    if isinstance(value, BaseModel):
        return [
            found
            for name in type(value).model_fields
            for found in _strings(getattr(value, name), (*key, name))
        ]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _strings(item, (*key, i))]
    return []


def _key_name(key: tuple[str | int, ...]) -> str:
    """('site', 'title') -> '[site] title'; ('newsletters', 0, 'name') -> 'newsletters[0].name'."""
    if len(key) == 2 and isinstance(key[1], str):
        return f"[{key[0]}] {key[1]}"
    name = ""
    for part in key:
        name += f"[{part}]" if isinstance(part, int) else ("." if name else "") + part
    return name


def _secret_variables(config: Config) -> list[str]:
    found = []
    named = [("[email] secret_env", config.email.secret_env)]
    if config.delivery.method == "smtp":
        named.append(("[delivery.smtp] password_env", config.delivery.smtp.password_env))
    for key, name in named:
        if name.upper() in _SYSTEM_VARIABLES or name.upper().startswith(_SYSTEM_PREFIXES):
            own = "PUBLISHER_SECRET" if key.startswith("[email]") else "PUBLISHER_SMTP_PASSWORD"
            found.append(
                f"{key}: {name} is a variable the system sets for its own use, not a secret: "
                f"name a variable of your own, such as {own}, and put the secret in it"
            )
    if len(named) == 2 and named[1][1] and named[0][1] == named[1][1]:
        found.append(
            f"[delivery.smtp] password_env: {named[1][1]} is also [email] secret_env: the "
            "key that signs readers' links would be the mail server's password (whoever "
            "reads one could forge the other); give each secret its own variable"
        )
    return found
