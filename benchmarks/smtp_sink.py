"""An SMTP sink for the delivery benchmarks: aiosmtpd accepting and discarding every message.

    with Sink(delay=0.02, processes=2) as sink:
        ...send to 127.0.0.1:sink.port...
        sink.accepted            # messages accepted so far, by every process

`delay` seconds pass before every reply (the greeting included), as with a relay across a
network. aiosmtpd parses in Python, so one process can be slower than many connections
sending to it: `processes` children accept on one listening socket, and the benchmarks
measure their floor (plain smtplib against the same sink) in the same run.
"""

from __future__ import annotations

import multiprocessing
import socket
import time
from typing import Any


def _serve(sock: socket.socket, delay: float, accepted: Any, ready: Any) -> None:
    import asyncio
    import logging

    from aiosmtpd.smtp import SMTP

    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    class Discard:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with accepted.get_lock():
                accepted.value += 1
            return "250 2.0.0 accepted"

    class Slow(SMTP):  # type: ignore[misc]
        async def push(self, status: Any) -> None:
            await asyncio.sleep(delay)
            await super().push(status)

    kind = Slow if delay else SMTP
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Discard()
    loop.run_until_complete(
        loop.create_server(lambda: kind(handler, hostname="sink", loop=loop), sock=sock)
    )
    ready.release()
    loop.run_forever()


class Sink:
    """`processes` aiosmtpd processes on one port of 127.0.0.1, until the block ends."""

    def __init__(self, *, delay: float = 0.0, processes: int = 1) -> None:
        self.delay = delay
        self.processes = processes
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1024)
        self.port = int(self._sock.getsockname()[1])
        context = multiprocessing.get_context("fork")
        self._accepted = context.Value("q", 0)
        ready = context.Semaphore(0)
        self._children = [
            context.Process(
                target=_serve, args=(self._sock, delay, self._accepted, ready), daemon=True
            )
            for _ in range(processes)
        ]
        for child in self._children:
            child.start()
        for _ in self._children:
            if not ready.acquire(timeout=30):
                raise RuntimeError("the SMTP sink did not start")

    @property
    def accepted(self) -> int:
        """Messages accepted so far."""
        with self._accepted.get_lock():
            return int(self._accepted.value)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Until `count` messages were accepted (the last answers may trail the client)."""
        deadline = time.monotonic() + timeout
        while self.accepted < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop every process."""
        for child in self._children:
            child.terminate()
        for child in self._children:
            child.join()
        self._sock.close()

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
