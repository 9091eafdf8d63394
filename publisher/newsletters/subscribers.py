"""Subscribers: add, remove, import and export them; who receives a newsletter.

Addresses are checked with `email-validator` (syntax and internationalised domains,
sent as punycode); the same address in another case is the same person. Removing,
unsubscribing or bouncing keeps the record with its status and time, so a later import
cannot quietly subscribe again someone who left: only `add --resubscribe` does.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.config.schema import usable_address
from publisher.content.clean import one_line
from publisher.errors import Problem, PublisherError
from publisher.newsletters.tokens import Claims
from publisher.store import Store
from publisher.store import subscribers as table
from publisher.store.subscribers import EVERY_NEWSLETTER, STATUSES, Status, Subscriber

__all__ = [
    "Address",
    "ImportReport",
    "Subscriber",
    "active_subscribers",
    "add_subscriber",
    "check_address",
    "export_csv",
    "import_csv",
    "mark_bounced",
    "remove_subscriber",
    "sync_config_subscribers",
    "unsubscribe",
]

log = logging.getLogger(__name__)

_SPLIT_NEWSLETTERS = re.compile(r"[\s,;]+")
_EXPORT_COLUMNS = ("email", "name", "status", "newsletters", "created", "changed")
# A file without a header row: the order the README documents (not the export's).
_IMPORT_COLUMNS = ("email", "name", "newsletters", "status")
IMPORT_BATCH = 500
"""Rows an import records per transaction."""


@dataclass(frozen=True)
class Address:
    """A checked address: `email` for the wire (ASCII), `display` for people, `key` for identity."""

    email: str
    display: str
    key: str


@dataclass(frozen=True)
class ImportReport:
    """What an import did: counts, and one problem per row it could not or would not take."""

    added: int
    updated: int
    problems: tuple[Problem, ...]


def check_address(text: str) -> Address:
    """A checked address; ValueError with the reason when it is not a usable one."""
    checked = usable_address(text)  # the rule the config's addresses follow
    wire = checked.ascii_email or checked.normalized
    return Address(email=wire, display=checked.normalized, key=wire.casefold())


def _newsletter_ids(config: Config, ids: Iterable[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(i for i in ids if i))
    for newsletter_id in wanted:
        if newsletter_id != EVERY_NEWSLETTER:
            config.newsletter(newsletter_id)  # ConfigError naming the known ones
    return wanted or (EVERY_NEWSLETTER,)


def _left(sub: Subscriber) -> str:
    return f"{sub.display_email} is {sub.status} since {sub.changed.date().isoformat()}"


def add_subscriber(
    config: Config,
    store: Store,
    email: str,
    now: datetime,
    *,
    name: str = "",
    newsletters: Sequence[str] = (),
    resubscribe: bool = False,
) -> Subscriber:
    """Subscribe `email` (to `newsletters`, or every one); refuses someone who left unless told."""
    try:
        address = check_address(email)
    except ValueError as e:
        raise PublisherError(f"{e}: check the spelling") from e
    ids = _newsletter_ids(config, newsletters)
    name = one_line(name)
    with store.transaction():
        known = table.by_key(store, address.key)
        if known is None:
            sid = table.insert(
                store,
                key=address.key,
                email=address.email,
                display_email=address.display,
                name=name,
                newsletters=ids,
                status="active",
                now=now,
            )
        else:
            sid = known.id
            if not known.active:
                if not resubscribe:
                    raise PublisherError(
                        f"{_left(known)}: pass --resubscribe if they asked to subscribe again"
                    )
                table.set_status(store, sid, "active", now, "subscribed again")
            table.add_newsletters(store, sid, ids)
            if name:
                table.set_name(store, sid, name)
        added = table.by_id(store, sid)
    assert added is not None
    return added


def remove_subscriber(store: Store, email: str, now: datetime) -> Subscriber:
    """Mark the subscriber with this address removed (the record stays); error if unknown."""
    try:
        key = check_address(email).key
    except ValueError:
        key = email.strip().casefold()
    with store.transaction():
        known = table.by_key(store, key)
        if known is None:
            raise PublisherError(
                f"no subscriber has the address {email.strip()!r}: see 'publisher subscribers list'"
            )
        if known.active:
            table.set_status(store, known.id, "removed", now, "removed by the site")
        removed = table.by_id(store, known.id)
    assert removed is not None
    return removed


def active_subscribers(store: Store, newsletter_id: str) -> tuple[Subscriber, ...]:
    """The people who receive this newsletter now, by id."""
    return table.active_for(store, newsletter_id)


def list_subscribers(store: Store, status: Status | None = None) -> tuple[Subscriber, ...]:
    """Every subscriber, or those with `status`, oldest first."""
    return table.every(store, status)


def mark_bounced(store: Store, subscriber_id: int, reply: str, now: datetime) -> None:
    """Stop sending to a subscriber whose server refused the address for good; no commit."""
    table.set_status(store, subscriber_id, "bounced", now, one_line(reply)[:500])


def unsubscribe(store: Store, claims: Claims, now: datetime) -> Subscriber:
    """Apply a verified unsubscribe token: the subscriber leaves (every newsletter)."""
    with store.transaction():
        known = table.by_id(store, claims.subscriber_id)
        if known is None:
            raise PublisherError(
                f"the unsubscribe token names subscriber {claims.subscriber_id}, who is not in "
                "this store: is this the right config (-c)?"
            )
        if known.active:
            table.set_status(
                store, known.id, "unsubscribed", now, f"unsubscribe link ({claims.newsletter_id})"
            )
        left = table.by_id(store, known.id)
    assert left is not None
    return left


def sync_config_subscribers(config: Config, store: Store, now: datetime) -> int:
    """Add the config's `[[subscribers]]` not yet in the store (never re-adding leavers).

    Writes only when one is missing (normally the first run), in its own transaction;
    returns how many were added.
    """
    missing = []
    for entry in config.subscribers:
        address = check_address(entry.email)
        if table.by_key(store, address.key) is None:
            missing.append((entry, address))
    if not missing:
        return 0
    with store.transaction():
        for entry, address in missing:
            table.insert(
                store,
                key=address.key,
                email=address.email,
                display_email=address.display,
                name=one_line(entry.name),
                newsletters=_newsletter_ids(config, entry.newsletters),
                status="active",
                now=now,
                reason="from the config",
            )
    log.info("added %d subscribers from the config", len(missing))
    return len(missing)


def import_csv(config: Config, store: Store, path: Path, now: datetime) -> ImportReport:
    """Import subscribers from CSV (email[,name[,newsletters[,status]]]); bad rows reported.

    A header row naming the columns is optional. `newsletters` holds ids separated by
    spaces, commas or semicolons (empty: every newsletter). Good rows are imported even
    when others are bad; someone who left is not subscribed again. A row the csv module
    cannot read ends the import there: the rows before it are kept, and it is reported.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise PublisherError(f"{path}: cannot read the CSV file ({e}): save it as UTF-8") from e
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = list(_IMPORT_COLUMNS)
    problems: list[Problem] = []
    added = updated = 0
    where = str(path)
    read = 0  # the last line of the last row read: a row the reader refuses starts after it
    rows = iter(reader)
    done = False
    while not done:
        # A batch at a time, each its own transaction: a large file never holds the state
        # file's write lock for long (a run waiting to record a send, the web app).
        with store.transaction():
            for _ in range(IMPORT_BATCH):
                try:
                    row = next(rows)
                except StopIteration:
                    done = True
                    break
                except csv.Error as e:
                    # Where the reader lost its way, nothing after it can be trusted as rows.
                    problems.append(
                        Problem(
                            where,
                            f"cannot read this row as CSV ({e}): neither it nor any row after "
                            "it was imported; fix the row (a quote left open makes the rest of "
                            "the file one field) and import the file again",
                            line=read + 1,
                        )
                    )
                    done = True
                    break
                line = read = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if line == 1 and "email" in (c.strip().lower() for c in row):
                    columns = [c.strip().lower() for c in row]
                    continue
                values = dict(zip(columns, (c.strip() for c in row), strict=False))
                try:
                    outcome = _import_row(config, store, values, now)
                except ValueError as e:
                    problems.append(Problem(where, f"{e}: row skipped", line=line))
                    continue
                if outcome == "added":
                    added += 1
                elif outcome == "updated":
                    updated += 1
                else:
                    problems.append(Problem(where, outcome, line=line, warning=True))
    log.info("%s: %d added, %d updated, %d rows not taken", path, added, updated, len(problems))
    return ImportReport(added, updated, tuple(problems))


def _import_row(config: Config, store: Store, values: dict[str, str], now: datetime) -> str:
    """'added', 'updated', or why the row was left alone; ValueError for a bad row."""
    if not values.get("email"):
        raise ValueError("no email address")
    address = check_address(values["email"])
    ids = tuple(i for i in _SPLIT_NEWSLETTERS.split(values.get("newsletters", "")) if i)
    known_ids = {n.id for n in config.newsletters} | {EVERY_NEWSLETTER}
    unknown = [i for i in ids if i not in known_ids]
    if unknown:
        raise ValueError(
            f"unknown newsletter {unknown[0]!r} (known: {', '.join(sorted(known_ids - {'*'}))})"
        )
    status = values.get("status", "").lower() or "active"
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    name = one_line(values.get("name", ""))
    known = table.by_key(store, address.key)
    if known is None:
        table.insert(
            store,
            key=address.key,
            email=address.email,
            display_email=address.display,
            name=name,
            newsletters=ids or (EVERY_NEWSLETTER,),
            status=status,
            now=now,
            reason="imported",
        )
        return "added"
    if not known.active:
        return f"{_left(known)}: not subscribed again (use 'subscribers add --resubscribe')"
    if status != "active":
        table.set_status(store, known.id, status, now, "imported")
    table.add_newsletters(store, known.id, ids or (EVERY_NEWSLETTER,))
    if name and name != known.name:
        table.set_name(store, known.id, name)
    return "updated"


def export_csv(store: Store) -> str:
    """Every subscriber as CSV with a header row, in the form `import_csv` reads back."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_EXPORT_COLUMNS)
    for sub in table.every(store):
        writer.writerow(
            [
                sub.display_email,
                sub.name,
                sub.status,
                " ".join(sub.newsletters),
                sub.created.isoformat(),
                sub.changed.isoformat(),
            ]
        )
    return out.getvalue()
