"""The subscriber web app on a real waitress server on 127.0.0.1, for tests.

    with running_web(config_for) as web:        # config_for(base_url) -> Config
        page = web.get("/subscribe")            # a requests.Response; cookies kept
        web.post_form("/subscribe", {...})      # adds the page's CSRF token

The socket is bound first (port 0: the kernel picks a free one), so the config's
`[web] base_url` can name the port before the server starts on that very socket.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from email_helpers import SECRET, T0, parse

from publisher.config import Config
from publisher.store import Store
from publisher.web import create_app
from publisher.web.server import Server

SECRET_ENV = {"PUBLISHER_SECRET": SECRET.decode()}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    """The moment the app acts at; tests move it."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class Web:
    """A running app: its base URL, config, clock, and a browser-like session."""

    url: str
    config: Config
    clock: Clock
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path.lstrip("/"), allow_redirects=False, **kwargs)

    def head(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.head(self.url + path.lstrip("/"), allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path.lstrip("/"), allow_redirects=False, **kwargs)

    def post_form(
        self, path: str, data: Mapping[str, Any], *, page: str | None = None
    ) -> requests.Response:
        """POST `data` with the CSRF token of the form on `page` (default: `path`), as a
        browser that opened the page first."""
        shown = self.get(page or path)
        assert shown.status_code == 200, shown.text
        return self.post(path, data={**data, "csrf_token": csrf_token(shown.text)})

    def stranger(self) -> Web:
        """The same app seen by another browser (no cookies)."""
        return Web(self.url, self.config, self.clock)

    def store(self) -> Store:
        return Store.open(self.config.store.path)


def csrf_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found[1]


def bound_socket() -> socket.socket:
    """A listening socket on 127.0.0.1 on a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def running_web(
    config_for: Callable[[str], Config],
    *,
    environ: Mapping[str, str] = SECRET_ENV,
    clock: Clock | None = None,
    sock: socket.socket | None = None,
) -> Iterator[Web]:
    """The app of `config_for(base_url)` served by waitress in a thread, until the block ends
    (on `sock`, already bound, when given)."""
    sock = sock or bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    config = config_for(url)
    clock = clock or Clock()
    app = create_app(config, environ, clock=clock)
    assert config.web is not None
    server = Server(app, config.web.base_url, sock, threads=4, proxy_hops=config.web.proxy_hops)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Web(config.web.base_url, config, clock)
    finally:
        server.stop()
        thread.join(10)
        app.extensions["publisher"].close()
        sock.close()


def outbox_messages(folder: Path) -> list[EmailMessage]:
    """Every message in the outbox Maildir, oldest first."""
    files = sorted((folder / "new").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [parse(f.read_bytes()) for f in files]


def wait_for_messages(folder: Path, count: int, timeout: float = 20) -> list[EmailMessage]:
    """The outbox's messages once there are at least `count` (the mailer thread sends them)."""
    deadline = time.monotonic() + timeout
    while True:
        found = outbox_messages(folder) if (folder / "new").is_dir() else []
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"only {len(found)} of {count} messages in the outbox"
            return found
        time.sleep(0.02)


def link_in(message: EmailMessage, kind: str) -> str:
    """The first link to the web app's `kind` page (confirm, unsubscribe, preferences) in the
    text part of `message`."""
    text = message.get_body(("plain",))
    assert text is not None
    found = re.search(rf"http://\S+/{kind}/\S+", text.get_content())
    assert found, f"no {kind} link in the message"
    return found[0]
