"""What a run reads, stamped before it reads it: the quiet check's view of the inputs.

Cron starts `publisher run` every minute, and most minutes nothing changed. A complete run
records (`publisher.quiet`) two digests of what it was about to read, and the next run's
quiet check (`publisher.main`) computes them again and compares:

- `inputs`: the config file's bytes and where it is; the path of every folder or file a
  setting names, as the config resolves it (a link moved to another folder counts); the
  stamps (size, modification and change times, inode) of the authors file and of the
  Jekyll `_config.yml` (named, or the one that would be found: one appearing counts);
  every file under the email templates folder (labels, CSS, web pages) and of the
  package's own code; the folders Python imports from (an install or upgrade changes
  them) and the time zone data; and for the variables the config names for secrets
  (`[email] secret_env`, `[delivery.smtp] password_env`) and HOME, whether each is set and
  a 16-bit digest of its value keyed by a random salt (a change is seen; the record
  cannot confirm a guessed secret).
- `posts`: every post file the indexer would find (`content.files.stamp_posts`).

Only the standard library is imported here (and `content.files`, which needs no more):
the check must cost a cron minute next to nothing. The config is read with `tomllib`
alone: the few keys that name places and variables, with their defaults, are read as the
schema reads them (a test holds the two together).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tomllib
import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from publisher.content.files import stamp_posts
from publisher.durations import parse_duration

FORMAT = 1  # bumped when the recipe of the digests changes

CONFIG_NAME = "publisher.toml"  # as `publisher.config.DEFAULT_CONFIG_NAME`
JEKYLL_NAME = "_config.yml"  # as `publisher.config.jekyll.CONFIG_NAME`

# The settings that name places, with their defaults (`publisher.config.schema` and `.mailing`).
PLACES: tuple[tuple[str, str, str | None], ...] = (
    ("content", "dir", "content"),
    ("content", "authors_file", None),
    ("content", "static_dir", None),
    ("store", "path", "state/publisher.sqlite3"),
    ("feeds", "output_dir", "public"),
    ("email", "templates_dir", "email_templates"),
    ("delivery", "outbox_dir", "outbox"),
)
# The variables the config names for secrets, with their defaults; HOME decides which
# folder may not hold outputs (`config.checks`).
SECRETS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("email", "secret_env"), "PUBLISHER_SECRET"),
    (("delivery", "smtp", "password_env"), ""),
)
_PACKAGE = os.path.dirname(os.path.abspath(__file__))

Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


class Settings(NamedTuple):
    """The config file as the quiet check reads it: resolved path, bytes and TOML tables."""

    path: str
    data: bytes
    tables: dict[str, Any]

    @property
    def folder(self) -> str:
        """The folder the config's relative paths start from."""
        return os.path.dirname(self.path)

    def place(self, table: str, key: str, default: str | None) -> str | None:
        """The path setting `[table] key` names, resolved as the config resolves it (a
        relative path against the config's folder, links followed; an absolute one as
        written); None when unset, '?' when it is not text (the config is wrong)."""
        section = self.tables.get(table, {})
        value = section.get(key, default) if isinstance(section, dict) else default
        if value is None:
            return None
        if not isinstance(value, str):
            return "?"
        if os.path.isabs(value):
            return value
        return os.path.realpath(os.path.join(self.folder, value))

    @property
    def state_path(self) -> str:
        """The state file."""
        return self.place("store", "path", "state/publisher.sqlite3") or ""

    @property
    def unknown_retries(self) -> int:
        """`[delivery] unknown_retries` (1 when unset or not a number: the config's default)."""
        section = self.tables.get("delivery", {})
        value = section.get("unknown_retries", 1) if isinstance(section, dict) else 1
        return value if isinstance(value, int) and not isinstance(value, bool) else 1

    @property
    def confirm_max_age(self) -> timedelta | None:
        """`[web] confirm_max_age` (7 days when unset), or None without [web] (or when it
        is not a duration: the config is wrong, and no run kept a record with it)."""
        section = self.tables.get("web")
        if not isinstance(section, dict):
            return None
        try:
            value = parse_duration(section.get("confirm_max_age", "7d"))
        except ValueError:
            return None
        return value if isinstance(value, timedelta) else None

    @property
    def content_dir(self) -> str:
        """The content folder."""
        return self.place("content", "dir", "content") or ""


class Observation(NamedTuple):
    """The inputs of a run as they stood at one moment: see the module's docstring."""

    config: str
    salt: bytes
    inputs: str
    posts: str


def config_file(given: str | None, cwd: str) -> str | None:
    """The config file a command uses (`-c` or publisher.toml in `cwd`), as
    `config.find_config` finds it; None when there is no such file (the command says so)."""
    path = given if given is not None else os.path.join(cwd, CONFIG_NAME)
    return path if os.path.isfile(path) else None


def read_settings(path: str) -> Settings:
    """The config file at `path`; OSError, UnicodeDecodeError or TOMLDecodeError when it
    cannot be read (the command reports it)."""
    real = os.path.realpath(path)
    with open(real, "rb") as f:
        data = f.read()
    return Settings(real, data, tomllib.loads(data.decode("utf-8")))


def observe(settings: Settings, salt: bytes) -> Observation:
    """Both digests, now. OSError when the content folder cannot be read."""
    return Observation(settings.path, salt, inputs_digest(settings, salt), posts_digest(settings))


def posts_digest(settings: Settings) -> str:
    """The digest of the post files the indexer would find (drafts left out, as a run does)."""
    h = hashlib.blake2b(digest_size=16)
    for block in stamp_posts(settings.content_dir, drafts=False):
        h.update(block.encode("utf-8", "surrogateescape"))
        h.update(b"\0\0\0")
    return h.hexdigest()


def inputs_digest(settings: Settings, salt: bytes) -> str:
    """The digest of everything a run reads but the post files."""
    places = {f"[{t}] {k}": settings.place(t, k, default) for t, k, default in PLACES}
    content = settings.content_dir
    jekyll = _jekyll_files(settings, content)
    parts = (
        FORMAT,
        sys.version,
        settings.path,
        hashlib.blake2b(settings.data).hexdigest(),
        places,
        [(path, stamp(path)) for path in (places["[content] authors_file"], *jekyll) if path],
        tree_stamps(places["[email] templates_dir"]),
        tree_stamps(_PACKAGE, skip="__pycache__"),
        [(path, stamp(path)) for path in _import_folders()],
        _zone_stamps(),
        _variables(settings.tables, salt),
    )
    return hashlib.blake2b(
        repr(parts).encode("utf-8", "surrogateescape"), digest_size=16
    ).hexdigest()


def iso_utc(moment: datetime) -> str:
    """A moment as the quiet record keeps it: ISO 8601 in UTC, one fixed width, so that
    comparing the texts compares the times."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def stamp(path: str | Path | None) -> Stamp | None:
    """Size, modification and change times and inode of the file or folder at `path`
    (links followed), or None when there is nothing there."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def stamp_text(found: Stamp | None) -> str:
    """A stamp as the record keeps it: 'size,mtime,ctime,inode', or '-' for nothing there."""
    return "-" if found is None else ",".join(map(str, found))


def files_text(files: Iterable[tuple[str, str]]) -> str:
    """(path, stamp text) pairs as the record keeps them: NUL-separated (no path holds
    one), each the stamp text, a space and the path."""
    return "\0".join(f"{text} {path}" for path, text in files)


def changed_file(files: str) -> str | None:
    """The first file of `files` (as `files_text` wrote them) whose stamp is not the one
    kept now, or None when every one is."""
    for entry in files.split("\0") if files else ():
        text, _, path = entry.partition(" ")
        if stamp_text(stamp(path)) != text:
            return path
    return None


def tree_stamps(folder: str | None, *, skip: str = "") -> list[tuple[str, Stamp | None]]:
    """Every file and folder under `folder` (links followed, each folder once) with its
    stamp, in the file system's order; `skip` names folders left out."""
    found: list[tuple[str, Stamp | None]] = []
    if not folder or not os.path.isdir(folder):
        return [(folder or "", stamp(folder))]
    seen: set[tuple[int, int]] = set()
    stack = [(folder, "")]
    while stack:
        path, rel = stack.pop()
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            found.append((rel + "/", (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))
            with os.scandir(path) as entries:
                for entry in entries:
                    if entry.name == skip:
                        continue
                    if entry.is_dir():
                        stack.append((entry.path, f"{rel}/{entry.name}"))
                    else:
                        found.append((f"{rel}/{entry.name}", stamp(entry.path)))
        except OSError as e:
            found.append((rel + "/", (e.errno or -1, 0, 0, 0)))
    return found


def _jekyll_files(settings: Settings, content: str) -> Iterable[str]:
    """The Jekyll config named (`[content] jekyll_config`) and the one that would be found
    beside the content folder (`config.jekyll.with_jekyll`)."""
    section = settings.tables.get("content", {})
    given = section.get("jekyll_config") if isinstance(section, dict) else None
    if isinstance(given, str) and given:
        yield os.path.realpath(os.path.join(settings.folder, given))
    raw = section.get("dir", "content") if isinstance(section, dict) else "content"
    if isinstance(raw, str) and content:
        yield os.path.join(
            os.path.dirname(os.path.realpath(os.path.join(settings.folder, raw))), JEKYLL_NAME
        )


def _import_folders() -> list[str]:
    """The folders Python imports from, but the one of the command itself (or the current
    folder) that it puts first: the same whichever way the command was started."""
    return sys.path if sys.flags.safe_path else sys.path[1:]


def _zone_stamps() -> list[tuple[str, Stamp | None]]:
    """The time zone data folders and their subfolders: an update of the rules shows in
    them (a file replaced by a rename changes its folder)."""
    found = []
    for root in zoneinfo.TZPATH:
        found.append((root, stamp(root)))
        try:
            with os.scandir(root) as entries:
                found += [(e.path, stamp(e.path)) for e in entries if e.is_dir()]
        except OSError:
            continue
    return found


def _variables(tables: dict[str, Any], salt: bytes) -> list[tuple[str, str]]:
    """For each variable the config names for a secret, and HOME: whether it is set, and a
    16-bit digest of its value keyed by `salt`."""
    names = ["HOME"]
    for keys, default in SECRETS:
        value: Any = tables
        for key in keys:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        names.append(value if isinstance(value, str) else default if value == {} else "?")
    found = []
    for name in names:
        value = os.environ.get(name) if name else None
        if value is None:
            found.append((name, "unset"))
        else:
            data = value.encode("utf-8", "surrogateescape")
            found.append((name, hashlib.blake2b(data, key=salt, digest_size=2).hexdigest()))
    return found
