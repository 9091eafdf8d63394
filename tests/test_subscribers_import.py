"""A large `subscribers import` records its rows a batch at a time, never holding the state
file's write lock for the whole file."""

from __future__ import annotations

from pathlib import Path

from email_helpers import T0, email_config

from publisher.newsletters.subscriber_csv import IMPORT_BATCH, import_csv
from publisher.store import Store


def test_a_large_import_commits_in_batches(tmp_path: Path) -> None:
    count = IMPORT_BATCH * 2 + 10
    people = tmp_path / "people.csv"
    rows = "".join(f"reader{n}@example.com,독자 {n},breaking\n" for n in range(count))
    people.write_text("email,name,newsletters\n" + rows + "not an address,x,breaking\n")
    with Store.open(tmp_path / "s.sqlite3") as store:
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        report = import_csv(email_config(tmp_path), store, people, T0)
        store.conn.set_trace_callback(None)
        (kept,) = store.conn.execute("SELECT count(*) FROM subscribers").fetchone()
    assert (report.added, kept) == (count, count)
    assert [p.line for p in report.problems] == [count + 2]
    # one transaction per IMPORT_BATCH lines read (the header and the bad row count too)
    assert statements.count("BEGIN IMMEDIATE") == statements.count("COMMIT") == 3
