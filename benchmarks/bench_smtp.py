"""Delivery speed: SMTP with the send journal against plain smtplib, and the outbox.

    python -m benchmarks.bench_smtp [--messages 10000] [--size 32000] [--rounds 2]

An aiosmtpd server that accepts and discards runs in a child process on 127.0.0.1. The
floor sends the same prebuilt messages with plain `smtplib.sendmail` over one connection;
`deliver()` sends them from journal rows, committing each outcome (WAL,
synchronous=NORMAL). The outbox is measured against the same write-fsync-rename without
the journal, and a bare write for scale. Rounds alternate and the best of each is kept.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import smtplib
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publisher.config import DeliveryConfig, SmtpConfig
from publisher.delivery import OutgoingMessage, deliver
from publisher.delivery.outbox import Outbox
from publisher.store import Store, journal
from publisher.store.journal import PendingSend

NOW = datetime(2024, 6, 19, 2, 0, tzinfo=UTC)
SENDER = "news@newsdao.kr"


def _serve(port: int, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 2.0.0 accepted"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port, server_hostname="bench")
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_messages(count: int, size: int) -> list[OutgoingMessage]:
    """`count` messages of about `size` bytes: Korean HTML in base64, like the newsletters."""
    body = (
        "<p>북한과 러시아가 새로운 협정을 체결하여 상호적인 군사적 지원을 약속했습니다.</p>\n" * 200
    )
    html = base64.encodebytes(body.encode("utf-8")[: size * 3 // 4]).replace(b"\n", b"\r\n")
    messages = []
    for n in range(1, count + 1):
        head = (
            f"From: news@newsdao.kr\r\nTo: reader{n}@example.com\r\n"
            f"Subject: =?utf-8?b?7IaN67O0?=\r\nMessage-ID: <bench.{n}@newsdao.kr>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode("ascii")
        messages.append(
            OutgoingMessage(
                "bench-1", n, f"reader{n}@example.com", SENDER, f"<bench.{n}>", head + html
            )
        )
    return messages


def floor_smtp(port: int, messages: list[OutgoingMessage]) -> float:
    """Seconds for plain smtplib over one connection."""
    start = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for m in messages:
        smtp.sendmail(m.sender, [m.recipient], m.data)
    smtp.quit()
    return time.perf_counter() - start


def _journal(folder: Path, messages: list[OutgoingMessage]) -> Store:
    store = Store.open(folder / "state.sqlite3")
    with store.transaction():
        journal.record_issue(
            store, issue_id="bench-1", newsletter_id="news", post_ids=["p"], created=NOW
        )
        journal.enqueue(store, "bench-1", [(m.subscriber_id, m.recipient) for m in messages])
    return store


def _deliver(config: DeliveryConfig, store: Store, messages: list[OutgoingMessage]) -> float:
    by_id = {m.subscriber_id: m for m in messages}

    def compose(row: PendingSend) -> OutgoingMessage:
        return by_id[row.subscriber_id]

    start = time.perf_counter()
    report = deliver(config, store, compose, NOW)
    elapsed = time.perf_counter() - start
    assert report.sent == len(messages), report
    return elapsed


def ours_smtp(port: int, messages: list[OutgoingMessage]) -> float:
    """Seconds for deliver() over SMTP, journal on."""
    config = DeliveryConfig(
        method="smtp", smtp=SmtpConfig(host="127.0.0.1", port=port, security="none")
    )
    with tempfile.TemporaryDirectory() as tmp, _journal(Path(tmp), messages) as store:
        return _deliver(config, store, messages)


def ours_outbox(messages: list[OutgoingMessage]) -> float:
    """Seconds for deliver() into the outbox, journal on."""
    with tempfile.TemporaryDirectory() as tmp, _journal(Path(tmp), messages) as store:
        config = DeliveryConfig(method="outbox", outbox_dir=Path(tmp) / "outbox")
        return _deliver(config, store, messages)


def floor_outbox(messages: list[OutgoingMessage]) -> float:
    """Seconds for the outbox's own write-fsync-rename of each message, no journal."""
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(Path(tmp) / "outbox")
        start = time.perf_counter()
        for m in messages:
            outbox.send(m)
        outbox.close()
        return time.perf_counter() - start


def bare_writes(messages: list[OutgoingMessage]) -> float:
    """Seconds to write each message to a file with no fsync and no rename (for scale)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for m in messages:
            (Path(tmp) / f"{m.subscriber_id}.eml").write_bytes(m.data)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=32_000, help="bytes per message")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    messages = make_messages(args.messages, args.size)
    n = len(messages)
    print(f"{n} messages of {len(messages[0].data)} bytes; cpus: {os.cpu_count()}")
    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, ready), daemon=True)
    server.start()
    ready.wait(30)
    try:
        floor = ours = float("inf")
        for _ in range(args.rounds):
            floor = min(floor, floor_smtp(port, messages))
            ours = min(ours, ours_smtp(port, messages))
    finally:
        server.terminate()
    print(f"smtp floor (smtplib, one connection): {n / floor:8.0f} msg/s  1.00x")
    print(
        f"smtp deliver() with the journal:      {n / ours:8.0f} msg/s  {floor / ours:.2f}x"
        "  (target >= 0.70x)"
    )

    box_floor = box = bare = float("inf")
    for _ in range(args.rounds):
        box_floor = min(box_floor, floor_outbox(messages))
        box = min(box, ours_outbox(messages))
        bare = min(bare, bare_writes(messages))
    us = 1e6 / n
    print(f"outbox floor (write, fsync, rename):  {box_floor * us:8.1f} us/msg  1.00x")
    print(f"outbox deliver() with the journal:    {box * us:8.1f} us/msg  {box / box_floor:.2f}x")
    print(f"bare write, no fsync (for scale):     {bare * us:8.1f} us/msg  {bare / box_floor:.2f}x")


if __name__ == "__main__":
    main()
