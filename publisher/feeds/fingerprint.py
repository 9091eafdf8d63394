"""What decides each feed file's bytes, fingerprinted and kept between runs to skip rendering.

Cron runs `publisher run` every few minutes and most runs find nothing new, yet rendering
the 51 feeds of a 10,000-post site only to find their bytes unchanged costs as much as
writing them the first time. So each file is recorded, once written (or found identical),
with a fingerprint of everything its bytes depend on (the package's code and version, the
libraries that render it, the [site] and [feeds] settings, and for each of its posts every
field, the size and times of the post's file, its image's length, its update shift and the
UTC offsets its dates are shown with) and with the file's own size, times and inode as they
were left. The next build renders only the files whose fingerprint or on-disk stamp
differs: a changed post, setting or version, a deleted file and a hand-edited one (its
ctime moves even if its mtime is put back) are all rendered again, and still written only
if their bytes differ.

The record is kept in the state file (`publisher.store.fingerprints`), written only when
it changed, so a nothing-changed run writes nothing at all. It is not kept in the output
folder: that folder is published as it is, and every file in it is a feed file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import platform
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path

import feedgen.version
import lxml.etree

import publisher
from publisher.config import Config
from publisher.content.codec import values
from publisher.content.post import Post
from publisher.errors import StoreError
from publisher.feeds.model import FeedFile, FeedPlan, Selection, feed_files
from publisher.inputs import Stamp, stamp
from publisher.store import Store
from publisher.store.fingerprints import Record, load_fingerprints, save_fingerprints

log = logging.getLogger(__name__)

RECORD_FORMAT = 4  # bumped when the recipe of the fingerprints changes

Checked = tuple[FeedFile, str, bool]  # a file, its fingerprint, whether it is unchanged


class Fingerprints:
    """Per feed file: the fingerprint of its inputs and its stamp when last written or checked."""

    def __init__(self, config: Config, recorded: dict[str, Record]) -> None:
        self._config = config
        self._out = config.feeds.output_dir
        self._recorded = recorded
        self._now: dict[str, Record] = {}
        self._base = _base_key(config)
        self._posts: dict[str, bytes] = {}

    @classmethod
    def load(cls, config: Config) -> Fingerprints:
        """The last build's fingerprints, from the state file (none when there is none yet)."""
        if not config.store.path.exists():
            return cls(config, {})  # and a dry run creates no state file just to look
        try:
            with Store.open(config.store.path) as store:
                recorded = load_fingerprints(store, str(config.feeds.output_dir.resolve()))
        except (StoreError, sqlite3.Error) as e:
            # Store.open wraps its errors; a query's (a damaged table, a lock) arrive raw.
            log.debug("%s: every feed is rendered", _store_problem(config.store.path, e))
            return cls(config, {})
        return cls(config, recorded)

    def check(self, selection: Selection, plan: FeedPlan) -> list[Checked]:
        """Each file of `plan`'s feed, its fingerprint, and whether it can be left as it is."""
        h = hashlib.blake2b(self._base, digest_size=16)
        h.update(repr((plan.category, plan.slug)).encode())
        for post in plan.posts:
            h.update(self._post_key(selection, post))
        feed_key = h.digest()
        checked: list[Checked] = []
        for file in feed_files(self._config, plan.slug):
            name = str(file.path)
            about = repr((file.format, name, file.url)).encode()
            key = hashlib.blake2b(feed_key + about, digest_size=16).hexdigest()
            checked.append((file, key, self._fresh(name, key)))
        return checked

    def check_file(
        self, name: str, selection: Selection, posts: Sequence[Post], about: bytes
    ) -> tuple[str, bool]:
        """The fingerprint of a file beside the feeds (`name`, under the output folder) made
        from `posts` and what `about` holds, and whether it can be left as it is."""
        h = hashlib.blake2b(self._base, digest_size=16)
        h.update(repr((name, about)).encode())
        for post in posts:
            h.update(self._post_key(selection, post))
        key = h.hexdigest()
        return key, self._fresh(name, key)

    def _fresh(self, name: str, key: str) -> bool:
        """Whether file `name` was left with the bytes of `key` and is on disk as it was left."""
        recorded = self._recorded.get(name)
        if recorded is None or recorded[0] != key:
            return False
        now = stamp(os.path.join(self._out, name))
        if now is None or now != recorded[1:]:
            return False
        self._now[name] = recorded
        return True

    def record(self, name: str, key: str, left: Stamp) -> None:
        """Note that file `name` now holds the bytes of `key` and was left on disk as `left`."""
        self._now[name] = (key, *left)

    def save(self) -> None:
        """Keep the fingerprints for the next build, when they changed."""
        if self._now == self._recorded:
            return
        try:
            with Store.open(self._config.store.path) as store:
                save_fingerprints(store, str(self._out.resolve()), self._now)
        except (StoreError, sqlite3.Error) as e:
            # The feeds themselves are written; only the next run's shortcut is lost.
            log.warning(
                "%s: cannot keep the feed fingerprints: the next run renders every feed again",
                _store_problem(self._config.store.path, e),
            )

    def _post_key(self, selection: Selection, post: Post) -> bytes:
        key = self._posts.get(post.id)
        if key is None:
            body = post.body
            # A body read from its file is known by the file's stamp, not by its text:
            # reading 711 bodies is what a nothing-changed run must not do.
            source = stamp(body.path) if body.path else body.inline
            fields = values(post)  # every field as plain values
            shift, length = selection.shifts.get(post.id, 0), selection.lengths.get(post.id)
            # The offsets the feeds show the dates with: time zone rules change too.
            tz = self._config.site.tz
            moment = max(post.updated, post.date) + timedelta(seconds=shift)
            zones = (post.date.astimezone(tz).utcoffset(), moment.astimezone(tz).utcoffset())
            extra = (source, shift, length, tuple(z.total_seconds() if z else 0 for z in zones))
            # repr, not marshal: marshal's bytes depend on which objects happen to be shared.
            key = hashlib.blake2b(repr((fields, extra)).encode(), digest_size=16).digest()
            self._posts[post.id] = key
        return key


def _store_problem(path: Path, error: Exception) -> str:
    """What went wrong with the state file at `path`: a StoreError names it, sqlite3's not."""
    if isinstance(error, StoreError):
        return str(error)
    return f"{path}: {error}"


def _base_key(config: Config) -> bytes:
    """What every file depends on: the code, the libraries and the settings that shape feeds."""
    versions = (
        publisher.__version__,
        feedgen.version.version_str,
        lxml.etree.LXML_VERSION,
        lxml.etree.LIBXML_VERSION,
        _version("markdown-it-py"),  # renders Markdown bodies
        _version("python-frontmatter"),  # splits the front matter off a body
        platform.python_version(),
    )
    settings = (repr(config.site), repr(config.feeds), repr(config.content.static_dir))
    return repr((RECORD_FORMAT, versions, _code_stamps(), settings)).encode()


@cache
def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


@cache
def _code_stamps() -> tuple[tuple[str, int, int], ...]:
    """Size and mtime of each module of the package: an edited checkout renders again."""
    root = Path(publisher.__file__).parent
    files: Iterable[Path] = sorted(root.rglob("*.py"))
    stamps = []
    for path in files:
        st = path.stat()
        stamps.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return tuple(stamps)
