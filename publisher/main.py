"""The `publisher` command's entry point: a cron minute with nothing to do ends here.

Cron starts `publisher run` every minute. Before anything else is imported, a plain run
(`publisher [-c FILE] [-v...] run [-v...]`, without `--now` or `--dry-run`) is checked
against the record the last complete run left in the state file (`store.quiet`):

- the config file, the code, the templates, the places and variables the config names,
  and every post file are as they were (`inputs`: two digests);
- every file that run wrote or looked at on the way (feeds, pages, images) is as it left
  it;
- the moment is before the next one at which time alone gives a run work (a post's date,
  a newsletter's schedule with a post waiting, an image server to ask again);
- the journal holds no message to send now (one queued by the web app, or left by a
  crash).

Then nothing would be done: the command exits with that run's status (1 while problems
remain, printed by the run that found them), prints nothing (`-v`: the summary line a run
with nothing to do prints) and writes nothing. Any other case, and any doubt (no record,
a file that cannot be read, a state file that cannot be opened), is the whole command
line as always (`publisher.cli`), handed what was observed here so the run does not look
again. Only the standard library is imported until then. A run in progress is not waited
for: until it keeps its own record, the answer is the last complete run's.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from publisher.inputs import (
    FORMAT,
    Observation,
    Settings,
    changed_file,
    config_file,
    inputs_digest,
    iso_utc,
    posts_digest,
    read_settings,
    stamp,
)
from publisher.store.journal import next_send_time
from publisher.store.quiet import QuietRecord, load_record
from publisher.store.subscribers import first_pending


class Plain(NamedTuple):
    """A command line that is a plain `run`: the config file given (if any), verbosity."""

    config: str | None
    verbose: int


def main() -> None:
    """Console-script entry point: the quiet check, then (unless it answered) the CLI."""
    args = sys.argv[1:]
    plain = plain_run(args)
    observed = None
    if plain is not None:
        try:
            status, observed = quiet_minute(plain)
        except Exception as e:  # any doubt is the whole run, never a traceback
            status = _full(plain, f"the quiet check failed ({e!r})", None)[0]
        if status is not None:
            sys.exit(status)
    from publisher.cli import main as cli_main

    cli_main(observed)


def plain_run(args: list[str]) -> Plain | None:
    """`args` as a plain `run` (what the quiet check answers), else None."""
    config: str | None = None
    verbose = 0
    command = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--verbose":
            verbose += 1
        elif arg.startswith("-v") and arg.strip("v") == "-":
            verbose += len(arg) - 1
        elif command:
            return None  # an option of the command (--now, --dry-run, --help...)
        elif arg == "run":
            command = True
        elif arg in ("-c", "--config") and i + 1 < len(args):
            config = args[i + 1]
            i += 1
        elif arg.startswith("--config="):
            config = arg.removeprefix("--config=")
        elif arg.startswith("-c") and len(arg) > 2:
            config = arg[2:]
        else:
            return None
        i += 1
    return Plain(config, verbose) if command else None


def quiet_minute(plain: Plain) -> tuple[int | None, Observation | None]:
    """The exit status when the run would do nothing (None: do the run), and what was
    observed of its inputs, for the run (None when they could not be looked at)."""
    path = config_file(plain.config, os.getcwd())
    if path is None:
        return None, None  # the CLI says there is no such file
    try:
        settings = read_settings(path)
    except (OSError, UnicodeDecodeError, ValueError):  # TOMLDecodeError is a ValueError
        return None, None  # the CLI reports it
    state = settings.state_path
    record: QuietRecord | None = None
    due: Due | None = None
    why = "no record of a complete run"
    if os.path.isfile(state):
        try:
            record, due = read_state(state, settings.unknown_retries, settings.confirm_max_age)
        except (sqlite3.Error, ValueError) as e:
            record, why = None, f"the state file cannot be read ({e})"
    salt = record.salt if record is not None and record.format == FORMAT else os.urandom(16)
    inputs = inputs_digest(settings, salt)
    if record is not None:
        why = _changed(record, settings, inputs, due, datetime.now(UTC))
    try:
        posts = posts_digest(settings)
    except OSError:
        return _full(plain, "the content folder cannot be read", None)
    observed = Observation(settings.path, salt, inputs, posts)
    if record is None or why:
        return _full(plain, why, observed)
    if posts != record.posts:
        return _full(plain, "a post file changed", observed)
    if plain.verbose >= 2:
        _say(f"nothing changed since the run at {record.run_at}: nothing to do", err=True)
    if plain.verbose:
        _say(record.summary)
    return record.status, None


def read_state(
    path: str, unknown_retries: int = 1, confirm_max_age: timedelta | None = None
) -> tuple[QuietRecord | None, Due | None]:
    """The record in the state file at `path`, and the first thing in it that time makes
    due: when its first pending message may go (see `journal.next_send_time`), or when the
    oldest request to subscribe expires (`confirm_max_age` after it was made; None: not
    asked). sqlite3.Error when it cannot be read (or changed while it was being read)."""
    uri = Path(path).as_uri()
    journals = (f"{path}-wal", f"{path}-journal")
    if any(os.path.exists(j) for j in journals):
        # A writer is at work (the web app keeps its connections open): read beside it.
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=2)
        return _read(conn, unknown_retries, confirm_max_age, shared=True)
    # No one is writing: the file as it stands is the whole state. Read as unchanging, so
    # that SQLite creates (and removes) no journal file beside it, then make sure it was.
    before = stamp(path)
    conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    found = _read(conn, unknown_retries, confirm_max_age, shared=False)
    if any(os.path.exists(j) for j in journals) or stamp(path) != before:
        raise sqlite3.OperationalError("it was written while being read")
    return found


class Due(NamedTuple):
    """A moment the state file makes due, and what comes due then."""

    at: datetime
    what: str


def _read(
    conn: sqlite3.Connection,
    unknown_retries: int,
    confirm_max_age: timedelta | None,
    *,
    shared: bool,
) -> tuple[QuietRecord | None, Due | None]:
    try:
        if shared:
            conn.execute("PRAGMA query_only = ON")
        times = []
        send = next_send_time(conn, unknown_retries)
        if send is not None:
            times.append(Due(send, "a message waits in the journal"))
        asked = first_pending(conn) if confirm_max_age is not None else None
        if asked is not None and confirm_max_age is not None:
            times.append(Due(asked + confirm_max_age, "a request to subscribe expires"))
        return load_record(conn), min(times, default=None)
    finally:
        conn.close()


def _changed(
    record: QuietRecord, settings: Settings, inputs: str, due: Due | None, now: datetime
) -> str:
    """Why the record does not answer for this moment ('' when it does), but the posts."""
    if record.format != FORMAT or record.config != settings.path:
        return "the record is of another config file or version"
    if record.inputs != inputs:
        return "the config, a template, the code or a secret variable changed"
    if not record.run_at <= iso_utc(now):
        return "the clock is before the last run"
    if record.due_at is not None and record.due_at <= iso_utc(now):
        return f"something comes due at {record.due_at}"
    if due is not None and due.at <= now:
        return due.what
    changed = changed_file(record.files)
    return f"{changed} changed" if changed else ""


def _full(plain: Plain, why: str, observed: Observation | None) -> tuple[None, Observation | None]:
    """The answer that the whole run follows (said, with -vv, and why)."""
    if plain.verbose >= 2:
        _say(f"{why}: the whole run follows", err=True)
    return None, observed


def _say(line: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(line + "\n")
    stream.flush()
