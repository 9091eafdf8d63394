"""An image server on 127.0.0.1 for tests: answers HEAD by path as told, records each request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# path -> (status, headers); a path not listed is a 404.
Routes = dict[str, tuple[int, dict[str, str]]]


class ImageServer(ThreadingHTTPServer):
    """Answers HEAD and GET from `routes` (no body); `silent` paths never answer; `dripping`
    paths answer one header byte at a time, each well within the client's timeout, for
    half a minute (then a whole answer with a length, which a client that waited got)."""

    daemon_threads = True

    def __init__(
        self, routes: Routes, silent: tuple[str, ...] = (), dripping: tuple[str, ...] = ()
    ) -> None:
        super().__init__(("127.0.0.1", 0), ImageHandler)
        self.routes = routes
        self.silent = silent
        self.dripping = dripping
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()  # lets the silent requests end at shutdown

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class ImageHandler(BaseHTTPRequestHandler):
    server: ImageServer

    def do_HEAD(self) -> None:
        self.server.requests.append((self.command, self.path))
        if self.path in self.server.silent:
            self.server.release.wait(10)  # the client's timeout is far shorter
            return
        if self.path in self.server.dripping:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(150):
                if self.server.release.wait(0.2):
                    return
                self.wfile.write(b"X")
                self.wfile.flush()
            self.wfile.write(b"-Drip: 1\r\nContent-Length: 5\r\n\r\n")
            return
        status, headers = self.server.routes.get(self.path, (404, {"Content-Length": "0"}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


@contextmanager
def running_images(
    routes: Routes, silent: tuple[str, ...] = (), dripping: tuple[str, ...] = ()
) -> Iterator[ImageServer]:
    """An image server serving in a thread until the block ends."""
    server = ImageServer(routes, silent, dripping)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
