"""A WebSub hub on 127.0.0.1 for tests: records every publish ping, answers a set status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs


class Hub(HTTPServer):
    """Records every POST; answers with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.status = status
        self.received: list[tuple[str, str, dict[str, list[str]]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hub"


class HubHandler(BaseHTTPRequestHandler):
    server: Hub

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode("ascii")
        self.server.received.append((self.path, self.headers["Content-Type"], parse_qs(body)))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


@contextmanager
def running_hub(status: int = 204) -> Iterator[Hub]:
    """A hub serving in a thread until the block ends."""
    server = Hub(status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
