"""What every request of one app shares (`Site`), and how a page is answered.

A `Site` holds the config, the secret, the labels, the stylesheet, the rate limits, one
state-file connection per server thread, and the mailer thread; `create_app` makes it
and keeps it in `app.extensions["publisher"]`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Response, current_app, render_template

from publisher.config import Config
from publisher.store import Store
from publisher.web.mailer import Mailer
from publisher.web.ratelimit import FormLimits


@dataclass
class Site:
    """What every request of one app shares."""

    config: Config
    secret: bytes
    labels: Mapping[str, Any]
    stylesheet: bytes
    limits: FormLimits
    mailer: Mailer
    clock: Callable[[], datetime]
    swept: datetime | None = None  # when requests never confirmed were last forgotten
    _local: threading.local = field(default_factory=threading.local)
    _opened: list[Store] = field(default_factory=list)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def store(self) -> Store:
        """This thread's connection to the state file (opened on first use)."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store.open(self.config.store.path, closed_elsewhere=True)
            self._local.store = store
            with self._guard:
                self._opened.append(store)
        return store

    def close(self) -> None:
        """Stop the mailer (its message in flight finishes) and close every connection."""
        self.mailer.stop()
        with self._guard:
            for store in self._opened:
                store.close()
            self._opened.clear()


def site() -> Site:
    """The `Site` of the app handling this request."""
    found: Site = current_app.extensions["publisher"]
    return found


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered page with its status."""
    response = current_app.make_response(render_template(template, **context))
    response.status_code = status
    return response


def message(
    title: str,
    *lines: str,
    status: int = 200,
    items: tuple[str, ...] = (),
    link: dict[str, str] | None = None,
) -> Response:
    """A page that only says something (and may list items, or offer one link)."""
    return page("web/message.html.j2", status, title=title, lines=lines, items=items, link=link)


def words(key: str) -> str:
    """One of the pages' words (labels.j2 and web/labels.j2), in the site's language."""
    return str(site().labels[key])
