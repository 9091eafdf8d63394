"""Subscriber pages under load: `publisher serve` with 8 concurrent clients.

    python -m benchmarks.bench_web [--readers 10000] [--requests 3000] [--clients 8]

`publisher serve` runs as it does in production (waitress, `[web] threads = 8`) in its own
process, on a site with `--readers` active subscribers of one newsletter, sending over SMTP
to an aiosmtpd server that accepts and discards (another process). The client is one more
process: `--clients` threads, each with its own keep-alive connection, no cookies (every
GET is a new visitor, who gets a new CSRF cookie).

- floor: GET /healthz (one query on the state file: the server and framework alone)
- GET /subscribe: the form (a CSRF token signed, the page rendered)
- POST one-click unsubscribe (`List-Unsubscribe=One-Click`, each for another reader: a
  verified token and one write transaction, cancelling the reader's pending message),
  while `publisher run` sends the issue to every reader over SMTP, committing each message

Floor and form alternate for `--rounds`; the best round of each is kept. Latencies are
per request, p50 and p99 over the round. Targets (issue 12): GET /subscribe >= 500/s and
one-click >= 200/s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.smtp_sink import Sink
from publisher.config import load_config
from publisher.newsletters.tokens import make_token
from publisher.store import Store
from publisher.store import subscribers as table

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-secret-0123456789abcdef0123456789"
RUN_AT = "2024-06-19T02:00:00+00:00"
POST = """---
title: "속보 {n}: 북·러 침략 시 상호 지원 협정 체결"
date: 2024-06-19 10:{n:02d}:00 +0900
categories: [News]
---
<p>북한과 러시아가 새로운 협정을 체결하여 상호적인 군사적 지원을 약속했습니다. ({n})</p>
"""
CONFIG = """[site]
title = "뉴스다오"
url = "https://newsdao.kr/"
language = "ko"
timezone = "Asia/Seoul"

[[newsletters]]
id = "news"
name = "뉴스다오 속보"
categories = ["News"]
schedule = "* * * * *"
sender = "뉴스다오 <news@newsdao.kr>"
description = "큰 뉴스가 나오면 바로 알려 드립니다."

[delivery]
method = "smtp"

[delivery.smtp]
host = "127.0.0.1"
port = {smtp}
security = "none"

[web]
base_url = "http://127.0.0.1:{port}/"
threads = 8
client_limit = "1000000/second"
"""


def _site(root: Path, readers: int, smtp: int, port: int) -> Path:
    (root / "content").mkdir()
    for n in range(2):
        (root / "content" / f"2024-06-19-{n}.html").write_text(POST.format(n=n), "utf-8")
    (root / "email_templates").symlink_to(ROOT / "email_templates")
    path = root / "publisher.toml"
    path.write_text(CONFIG.format(smtp=smtp, port=port), encoding="utf-8")
    config = load_config(path)
    with Store.open(config.store.path) as store, store.transaction():
        for n in range(readers):
            table.insert(
                store,
                key=f"reader{n}@example.com",
                email=f"reader{n}@example.com",
                display_email=f"reader{n}@example.com",
                name="",
                newsletters=["news"],
                status="active",
                now=datetime.fromisoformat(RUN_AT),
            )
    return path


def _command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "from publisher.cli import main; main()", "-c", str(config),
            *args]  # fmt: skip


def _client(
    port: int,
    requests: Sequence[tuple[str, str, bytes]],
    clients: int,
    out: Any,
) -> None:
    """Send `requests` (method, path, body) over `clients` keep-alive connections; put
    (seconds, latencies, failures) on `out`."""
    lock = threading.Lock()
    queue = list(reversed(requests))
    latencies: list[float] = []
    failures = [0]

    def work() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while True:
            with lock:
                if not queue:
                    break
                method, path, body = queue.pop()
            headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
            t = time.perf_counter()
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t)
            if response.status != 200:
                with lock:
                    failures[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((time.perf_counter() - start, latencies, failures[0]))


def measure(
    port: int, requests: Sequence[tuple[str, str, bytes]], clients: int
) -> dict[str, float]:
    """req/s, p50 and p99 (ms) of `requests` sent by a client in its own process."""
    out: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_client, args=(port, requests, clients, out))
    proc.start()
    seconds, latencies, failures = out.get()
    proc.join()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rate": len(latencies) / seconds,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "failures": failures,
    }


def _wait_until_up(port: int) -> None:
    for _ in range(400):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("publisher serve did not come up")


def _row(name: str, m: dict[str, float], floor: float, target: str) -> str:
    return (
        f"| {name} | {m['rate']:.0f}/s | {m['rate'] / floor:.2f}x | {m['p50']:.1f} ms | "
        f"{m['p99']:.1f} ms | {int(m['failures'])} | {target} |"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sink = Sink()
    smtp, port = sink.port, _free_port()
    env = {**os.environ, "PUBLISHER_SECRET": SECRET}
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        config_path = _site(Path(tmp), args.readers, smtp, port)
        config = load_config(config_path)
        server = subprocess.Popen(
            _command(config_path, "serve", "--port", str(port)), env=env,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_until_up(port)
            floor_runs, form_runs = [], []
            for _ in range(args.rounds):
                floor_runs.append(measure(port, [("GET", "/healthz", b"")] * args.requests,
                                          args.clients))  # fmt: skip
                form_runs.append(measure(port, [("GET", "/subscribe", b"")] * args.requests,
                                         args.clients))  # fmt: skip
            floor = max(floor_runs, key=lambda m: m["rate"])
            form = max(form_runs, key=lambda m: m["rate"])
            signed = datetime.now(UTC)  # the server's clock is the real one
            tokens = [
                make_token(SECRET.encode(), sid, "news", signed, config.email.token_max_age)
                for sid in range(1, min(args.requests, args.readers) + 1)
            ]
            body = b"List-Unsubscribe=One-Click"
            run = subprocess.Popen(_command(config_path, "run", "--now", RUN_AT), env=env,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
            time.sleep(1.0)  # the run has rendered the issue and is sending
            clicks = measure(port, [("POST", f"/unsubscribe/{t}", body) for t in tokens],
                             args.clients)  # fmt: skip
            sending = run.poll() is None
            _, err = run.communicate(timeout=3600)
        finally:
            server.terminate()
            server.wait(30)
        with Store.open(config.store.path) as store:
            counts = dict(store.conn.execute(
                "SELECT status, count(*) FROM sends GROUP BY status").fetchall())  # fmt: skip
    sink.close()
    print(f"{args.readers} readers, {args.requests} requests per measure, {args.clients} clients, "
          f"best of {args.rounds} for the GETs; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| requests | rate | vs floor | p50 | p99 | not 200 | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(_row("floor: GET /healthz", floor, floor["rate"], ""))
    print(_row("GET /subscribe", form, floor["rate"], ">= 500/s"))
    print(_row("POST one-click, during the send", clicks, floor["rate"], ">= 200/s"))
    print(f"the run was {'still' if sending else 'no longer'} sending when the clicks ended; "
          f"journal: {counts}; run exit {run.returncode} {err.strip()[:200]}")  # fmt: skip


if __name__ == "__main__":
    main()
