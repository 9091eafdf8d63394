"""WebSub publish pings against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from publisher.websub import notify_hub


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


@pytest.fixture
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    server = Hub(getattr(request, "param", 204))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_publish_ping_per_changed_feed(hub: Hub) -> None:
    feeds = [
        "https://newsdao.kr/atom.xml",
        "https://newsdao.kr/categories/%EC%A0%95%EC%B9%98/rss.xml",
    ]
    assert notify_hub(hub.url, feeds, timeout=5) == ()
    assert hub.received == [
        ("/hub", "application/x-www-form-urlencoded", {"hub.mode": ["publish"], "hub.url": [url]})
        for url in feeds
    ]


@pytest.mark.parametrize("hub", [500], indirect=True)
def test_refusing_hub_is_a_warning(hub: Hub) -> None:
    feeds = ["https://newsdao.kr/atom.xml", "https://newsdao.kr/rss.xml"]
    problems = notify_hub(hub.url, feeds, timeout=5)
    assert [str(p) for p in problems] == [
        f"[feeds] websub_hub: hub {hub.url!r} refused the ping for "
        "https://newsdao.kr/atom.xml (HTTP 500); 1 other changed feed(s) not pinged; "
        "readers see them at their next poll"
    ]
    assert len(hub.received) == 1
    assert problems[0].warning


def test_unreachable_hub_is_one_warning() -> None:
    # A port nothing listens on: bind it, then close it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub_url = f"http://127.0.0.1:{port}/"
    problems = notify_hub(hub_url, ["https://newsdao.kr/atom.xml", "https://newsdao.kr/rss.xml"], 2)
    assert len(problems) == 1
    assert problems[0].warning
    message = str(problems[0])
    assert message.startswith(f"[feeds] websub_hub: hub {hub_url!r} cannot be reached (")
    assert message.endswith(
        "readers will see the 2 changed feed(s) at their next poll; check [feeds] websub_hub"
    )


def test_silent_hub_times_out_with_a_warning() -> None:
    # A socket that listens but never answers: the kernel accepts, nobody replies.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        hub_url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        problems = notify_hub(hub_url, ["https://newsdao.kr/atom.xml"], timeout=0.3)
    assert len(problems) == 1
    assert problems[0].warning
    assert "cannot be reached (timed out)" in str(problems[0])
