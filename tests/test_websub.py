"""WebSub publish pings against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from hub_server import Hub

from publisher.feeds.websub import notify_hub


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
