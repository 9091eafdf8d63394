"""The web app and a cron run share the state file: during a 10,000-message send to a real
SMTP server, a reader subscribes and another leaves; the send loses nothing, and the one
who left gets nothing more."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import requests
from delivery_helpers import (
    RUN_AT,
    SECRET_ENV,
    T0,
    address,
    make_site,
    run_publisher,
    start_publisher,
)
from smtp_server import SmtpServer
from web_helpers import bound_socket, running_web

from publisher.config import Config, load_config
from publisher.newsletters.tokens import make_token
from publisher.store import Store
from publisher.store import subscribers as table

READERS = 10_000
HELD = 50  # the SMTP server holds its answer to this message: the send is mid-way
LEAVER = 9_000  # a reader whose message is still pending when they leave


def test_subscribe_and_unsubscribe_during_a_long_send(tmp_path: Path) -> None:
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    with SmtpServer() as server:
        path = make_site(
            tmp_path, subscribers=0, smtp_port=server.port, extra=f'[web]\nbase_url = "{url}"\n'
        )
        config = load_config(path)
        with Store.open(config.store.path) as store, store.transaction():
            ids = [
                table.insert(
                    store,
                    key=address(n),
                    email=address(n),
                    display_email=address(n),
                    name="",
                    newsletters=["news"],
                    status="active",
                    now=T0,
                )
                for n in range(READERS)
            ]
        server.hold_at(HELD)
        run = start_publisher(path, "run", "--now", RUN_AT)
        server.wait_for(HELD)

        def same_config(base_url: str) -> Config:
            assert base_url == url
            return config

        with running_web(same_config, environ=SECRET_ENV, sock=sock) as web:
            secret = SECRET_ENV["PUBLISHER_SECRET"].encode()
            token = make_token(secret, ids[LEAVER], "news", T0, config.email.token_max_age)
            left = requests.post(
                f"{url}unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=30
            )
            assert left.status_code == 200
            asked = web.post_form("/subscribe", {"email": "new@example.com", "newsletter": "news"})
            assert asked.status_code == 303
            server.release()
            _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
        arrived = Counter(server.recipients())
        assert arrived[address(LEAVER)] == 0
        assert len(arrived) == READERS - 1
        assert set(arrived.values()) == {1}
        with Store.open(config.store.path) as store:
            counts = dict(
                store.conn.execute(
                    "SELECT status, count(*) FROM sends WHERE issue_id LIKE 'news-%' "
                    "GROUP BY status"
                ).fetchall()
            )
            new = table.by_key(store, "new@example.com")
        assert counts == {"sent": READERS - 1, "cancelled": 1}
        assert new is not None and new.status == "pending"
        # The confirmation waited for the lock; the next run sends it.
        again = run_publisher(path, "run", "--now", RUN_AT)
        assert again.returncode == 0, again.stderr
        confirmation = server.wait_for(READERS)[-1]
        assert confirmation.recipients == ("new@example.com",)
        assert "구독을 확인해 주세요" in str(confirmation.parse()["Subject"])
