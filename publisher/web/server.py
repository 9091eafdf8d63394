"""`publisher serve`: the app on waitress, in the foreground, until SIGTERM or Ctrl-C.

waitress is a production WSGI server (threads, no C extension). The socket is bound
before the server starts, so tests can hand it one on a port they chose. With a base path
in `[web] base_url` (`https://example.com/newsletter/`), the app answers under it, the
way a reverse proxy passes the requests on.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask
from waitress import create_server
from waitress.server import BaseWSGIServer
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from publisher.errors import PublisherError

log = logging.getLogger(__name__)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; PublisherError saying why when it cannot be had."""
    sock: socket.socket | None = None
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(1024)
    except OSError as e:
        if sock is not None:
            sock.close()
        raise PublisherError(
            f"cannot listen on {host}:{port} ({e.strerror or e}): choose another --port, or "
            "stop what is using it"
        ) from e
    return sock


def mounted(app: Flask, base_url: str) -> Any:
    """The WSGI app answering under the path of `base_url` ('/' as is); any other path gets
    the app's own 404 page (the site's language, the same headers)."""
    path = urlsplit(base_url).path.rstrip("/")
    if not path:
        return app
    # PATH_INFO arrives percent-decoded, its bytes as latin-1 (PEP 3333): match it so.
    wsgi_path = unquote_to_bytes(path).decode("latin-1")

    def outside(environ: dict[str, Any], start_response: Any) -> Any:
        return app(dict(environ, SCRIPT_NAME=wsgi_path, PATH_INFO=_NOWHERE), start_response)

    return DispatcherMiddleware(outside, {wsgi_path: app})


# A path no page of the app has (no route starts with a dot): its 404 answers the rest.
_NOWHERE = "/.not-here"


class Server:
    """The app on waitress, on a socket already bound; `run()` blocks until `stop()`."""

    def __init__(
        self,
        app: Flask,
        base_url: str,
        sock: socket.socket,
        threads: int,
        *,
        proxy_hops: int = 0,
    ) -> None:
        self._server: BaseWSGIServer = create_server(
            mounted(app, base_url),
            sockets=[sock],
            threads=threads,
            ident="publisher",
            max_request_body_size=1024 * 1024,
            # Behind a proxy the app reads X-Forwarded-* itself ([web] proxy_hops, werkzeug's
            # ProxyFix); otherwise waitress drops them, so no client can claim an address.
            clear_untrusted_proxy_headers=not proxy_hops,
        )

    def run(self) -> None:
        """Serve until stopped (SystemExit or KeyboardInterrupt in this thread, or `stop`)."""
        self._server.run()

    def stop(self) -> None:
        """Stop serving from another thread: requests in progress finish (up to 5 s)."""
        try:
            self._server.trigger.pull_trigger(self._close)
        except OSError:  # its wake-up pipe is already closed: the server is closing
            log.debug("the server was already stopping")

    def _close(self) -> None:
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        wasyncore.close_all(self._server._map)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """While inside, SIGTERM ends `Server.run` in the main thread as Ctrl-C does."""

    def handle(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    app: Flask, base_url: str, host: str, port: int, threads: int, proxy_hops: int = 0
) -> None:
    """Run `app` on host:port in the foreground until SIGTERM or Ctrl-C; then the requests
    in progress and the confirmation email in flight finish, and it returns."""
    sock = bind(host, port)
    server = Server(app, base_url, sock, threads, proxy_hops=proxy_hops)
    log.info("serving %s on http://%s:%d/", base_url, host, port)
    try:
        with stop_on_sigterm():
            server.run()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["publisher"].close()
        sock.close()
    log.info("stopped")
