"""Subscribers in and out of CSV files: import (UTF-8, UTF-16 or Korean Excel's CP949,
bad rows reported, a batch per transaction) and export (cells a spreadsheet would run as
formulas neutralised, read back as they were).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.config import Config
from publisher.content.clean import one_line
from publisher.errors import Problem, PublisherError
from publisher.newsletters.subscribers import check_address, standing
from publisher.store import Store
from publisher.store import subscribers as table
from publisher.store.subscribers import EVERY_NEWSLETTER, STATUSES

__all__ = ["IMPORT_BATCH", "ImportReport", "decode_csv", "export_csv", "import_csv"]

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
class ImportReport:
    """What an import did: counts, one problem per row it could not or would not take, and
    the encoding the file was read in."""

    added: int
    updated: int
    problems: tuple[Problem, ...]
    encoding: str = "UTF-8"


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
        return f"{standing(known)}: not subscribed again (use 'subscribers add --resubscribe')"
    if status != "active":
        table.set_status(store, known.id, status, now, "imported")
    wanted = ids or (EVERY_NEWSLETTER,)
    # A newsletter they left (its own row, or every newsletter) is theirs to take back.
    gone = [i for i in wanted if (sub := known.subscription(i)) and sub.status == "unsubscribed"]
    table.add_newsletters(store, known.id, [i for i in wanted if i not in gone], now=now)
    if name and name != known.name:
        table.set_name(store, known.id, name)
    if gone:
        return (
            f"{known.display_email} left {', '.join(_named(i) for i in gone)}: not subscribed "
            "to it again (use "
            "'subscribers add --resubscribe'); the rest of the row was imported"
        )
    return "updated"


def _named(newsletter_id: str) -> str:
    return "every newsletter" if newsletter_id == EVERY_NEWSLETTER else newsletter_id


def _to_cell(text: str) -> str:
    """A value as a CSV cell a spreadsheet shows as text, never runs as a formula: one '
    before it when it starts with a formula character, or with 's and then one (so that
    `_from_cell` gives back a value that really starts with ')."""
    return "'" + text if text.lstrip("'").startswith(_FORMULA_START) else text


def _from_cell(text: str) -> str:
    """A cell as `_to_cell` wrote it, back to its value (stripped)."""
    if text.startswith("'") and text.lstrip("'").startswith(_FORMULA_START):
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
