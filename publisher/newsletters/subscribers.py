"""Subscribers, the editor's side: add, remove, import and export them; who receives what.

Addresses are checked with `email-validator` (syntax and internationalised domains,
sent as punycode); the same address in another case is the same person. Removing,
unsubscribing or bouncing keeps the record with its status and time, so a later import
cannot quietly subscribe again someone who left (everything, or one newsletter): only
`add --resubscribe` does. What readers do themselves (subscribe and confirm, leave one
newsletter, change their preferences) is in `choices`.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.config.values import usable_address
from publisher.content.clean import one_line
from publisher.errors import Problem, PublisherError
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
    "newsletter_counts",
    "remove_subscriber",
    "sync_config_subscribers",
]

log = logging.getLogger(__name__)

_SPLIT_NEWSLETTERS = re.compile(r"[\s,;]+")
_EXPORT_COLUMNS = ("email", "name", "status", "newsletters", "created", "changed", "left")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): it is
# written after a ' (which spreadsheets show as text) and read back without it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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
    """What an import did: counts, one problem per row it could not or would not take, and
    the encoding the file was read in."""

    added: int
    updated: int
    problems: tuple[Problem, ...]
    encoding: str = "UTF-8"


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
    """Subscribe `email` (to `newsletters`, or every one); refuses someone who left (them,
    or one of these newsletters) unless told they asked to come back."""
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
            _add_to_known(store, known, ids, now, resubscribe=resubscribe)
            if name:
                table.set_name(store, sid, name)
        added = table.by_id(store, sid)
    assert added is not None
    return added


def _add_to_known(
    store: Store, known: Subscriber, ids: tuple[str, ...], now: datetime, *, resubscribe: bool
) -> None:
    """Make `ids` active for someone already in the store (the editor vouches for them)."""
    back = known.status in ("unsubscribed", "removed", "bounced")
    if back and not resubscribe:
        raise PublisherError(f"{_left(known)}: pass --resubscribe if they asked to subscribe again")
    rows = {s.newsletter_id: s for s in known.subscriptions}
    wanted = (
        tuple(rows) if resubscribe and EVERY_NEWSLETTER in ids else ()
    ) + ids  # '*' brings back every newsletter they left
    for newsletter_id in dict.fromkeys(wanted):
        row = rows.get(newsletter_id)
        if row is None:
            table.put_subscription(store, known.id, newsletter_id, "active", 1, now)
        elif row.status == "unsubscribed" or back:
            if row.status == "unsubscribed" and not resubscribe:
                raise PublisherError(
                    f"{known.display_email} left {newsletter_id} on "
                    f"{(row.changed or known.changed).date().isoformat()}: pass --resubscribe "
                    "if they asked to subscribe again"
                )
            # A new version: links in emails from before they left no longer unsubscribe.
            table.put_subscription(store, known.id, newsletter_id, "active", row.version + 1, now)
        elif row.status == "pending":
            table.put_subscription(store, known.id, newsletter_id, "active", row.version, now)
    if back:  # what they kept while away starts a new version too
        for row in known.subscriptions:
            if row.newsletter_id not in wanted and row.status == "active":
                table.put_subscription(
                    store, known.id, row.newsletter_id, "active", row.version + 1, now
                )
    if known.status != "active":
        table.set_status(
            store, known.id, "active", now, "subscribed again" if back else "added by the site"
        )


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


def newsletter_counts(store: Store, newsletter_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each newsletter, how many subscribers are active, pending, unsubscribed, bounced
    (and removed) with it."""
    counts = {n: dict.fromkeys(("active", "pending", "unsubscribed", "bounced", "removed"), 0)
              for n in newsletter_ids}  # fmt: skip
    for sub in table.every(store):
        for n in newsletter_ids:
            state = sub.state(n)
            if state:
                counts[n][state] += 1
    return counts


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
    The file may be saved as UTF-8 (with or without a BOM), UTF-16 (with its BOM) or
    CP949/EUC-KR (see `decode_csv`).
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PublisherError(f"{path}: cannot read the CSV file ({e.strerror or e})") from e
    text, encoding = decode_csv(data, str(path))
    log.info("%s: read as %s", path, encoding)
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
                values = dict(zip(columns, (_from_cell(c) for c in row), strict=False))
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
    return ImportReport(added, updated, tuple(problems), encoding)


# What spreadsheets save CSV files as: UTF-8 ("CSV UTF-8", with a BOM), UTF-16 ("Unicode
# text", with a BOM), and Korean Excel's plain "CSV": CP949, the Windows superset of EUC-KR.
# Each is tried strictly, so a file in another encoding fails all of them.
_BOMS = (
    (codecs.BOM_UTF32_LE, "", "UTF-32"),  # starts like UTF-16's: looked at first
    (codecs.BOM_UTF32_BE, "", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a BOM"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_SAVE_AS = (
    "save it from the spreadsheet as 'CSV UTF-8 (comma delimited)' (or as Korean 'CSV', "
    "CP949) and import it again"
)


def decode_csv(data: bytes, where: str) -> tuple[str, str]:
    """The text of a subscribers file and the name of the encoding it was read in; a
    PublisherError naming the line where it is none of UTF-8, UTF-16 and CP949/EUC-KR."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            if not codec:
                raise PublisherError(f"{where}: the file is {name}, which is not read: {_SAVE_AS}")
            try:
                return data.decode(codec), name
            except UnicodeDecodeError as e:
                raise _unreadable(where, data, e, name) from e
    if b"\x00" in data:  # UTF-16 without its BOM, or not a text file at all
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise PublisherError(
            f"{where}:{line}: the file holds NUL bytes, so it is not CSV text: {_SAVE_AS}"
        )
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as not_utf8:
        try:
            return data.decode("cp949"), "CP949 (EUC-KR)"
        except UnicodeDecodeError:
            raise _unreadable(where, data, not_utf8, "UTF-8, UTF-16 or CP949/EUC-KR") from not_utf8


def _unreadable(where: str, data: bytes, error: UnicodeDecodeError, tried: str) -> PublisherError:
    line = data.count(b"\n", 0, error.start) + 1
    return PublisherError(
        f"{where}:{line}: cannot read the file: line {line} is not {tried} text: {_SAVE_AS}"
    )


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
    left = tuple(i for i in _SPLIT_NEWSLETTERS.split(values.get("left", "")) if i in known_ids)
    known = table.by_key(store, address.key)
    if known is None:
        sid = table.insert(
            store,
            key=address.key,
            email=address.email,
            display_email=address.display,
            name=name,
            newsletters=ids or (() if left else (EVERY_NEWSLETTER,)),
            status=status,
            now=now,
            reason="imported",
        )
        for newsletter_id in left:
            table.put_subscription(store, sid, newsletter_id, "unsubscribed", 1, now)
        return "added"
    if not known.active:
        return f"{_left(known)}: not subscribed again (use 'subscribers add --resubscribe')"
    if status != "active":
        table.set_status(store, known.id, status, now, "imported")
    table.add_newsletters(store, known.id, ids or (EVERY_NEWSLETTER,), now=now)
    if name and name != known.name:
        table.set_name(store, known.id, name)
    return "updated"


def _to_cell(text: str) -> str:
    """A value as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _from_cell(text: str) -> str:
    """A cell as `_to_cell` wrote it, back to its value (stripped)."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        text = text[1:]
    return text.strip()


def export_csv(store: Store) -> str:
    """Every subscriber as CSV with a header row, in the form `import_csv` reads back.

    `newsletters` are those they receive or wait to confirm, `left` those they left; a
    cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) starts
    with a ' instead.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_EXPORT_COLUMNS)
    for sub in table.every(store):
        left = [s.newsletter_id for s in sub.subscriptions if s.status == "unsubscribed"]
        writer.writerow(
            [
                _to_cell(cell)
                for cell in (
                    sub.display_email,
                    sub.name,
                    sub.status,
                    " ".join(sub.newsletters),
                    sub.created.isoformat(),
                    sub.changed.isoformat(),
                    " ".join(left),
                )
            ]
        )
    return out.getvalue()
