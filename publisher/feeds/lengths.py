"""Byte lengths of images on other servers, for enclosures: one HTTP HEAD each, remembered.

An enclosure needs the image's length. It is given in the front matter, or read from the
file under `[content] static_dir` (`items.image_length`); for any other image (on another
host, or on the site when there is no `static_dir`) the image's server is asked once with
an HTTP `HEAD` (`[feeds] image_head`), within `image_head_timeout`, a few at a time, and
its answer kept in the state file by URL. A warm run reads that record only and asks no
one. A failure (no answer, an error status, no `Content-Length`) is kept too and asked
again a day later; until then, and when nobody may be asked, the length is unknown and
the enclosure says `length="0"`, as the RSS Best Practices Profile advises.

Only servers on the public internet are asked (a post must not make the build machine
probe its own network and publish what it found as a length): a host that resolves to a
private, loopback, link-local or reserved address is not asked, on the first request or
after a redirect, unless `[feeds] image_head_private` allows it (a site on an intranet).
At most three redirects are followed, each to http(s) only.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, wait
from dataclasses import replace
from datetime import datetime, timedelta
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from publisher import __version__
from publisher.config import Config
from publisher.content.urls import absolute_url
from publisher.errors import StoreError
from publisher.feeds.model import Selection
from publisher.store import Store
from publisher.store.image_lengths import Answer, failed_since, load_lengths, save_lengths

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(days=1)  # a failed HEAD is asked again after this
_AT_ONCE = 8  # HEAD requests in flight together


def ask_lengths(
    config: Config, selection: Selection, now: datetime | None, *, dry_run: bool
) -> Selection:
    """`selection` with the lengths of its images on other servers filled in where known.

    `now` None: only the recorded answers are used and no one is asked. A dry run asks
    but records nothing.
    """
    if not config.feeds.image_head:
        return selection
    urls = _unknown(config, selection)
    if not urls:
        return selection  # the state file is not even opened
    known = _recorded(config.store.path, set(urls.values()))
    if known is None:
        return selection  # no record to keep answers in: asking every run would be slow
    due = sorted(
        {url for url in urls.values() if url not in known or _retry(known[url], now)}
        if now is not None
        else ()
    )
    if due:
        assert now is not None
        timeout = config.feeds.image_head_timeout.total_seconds()
        answers = head_lengths(due, timeout, private=config.feeds.image_head_private)
        log.info(
            "feeds: asked %d image servers for lengths, %d answered",
            len(due),
            sum(length is not None for length in answers.values()),
        )
        known.update((url, (length, now)) for url, length in answers.items())
        if not dry_run:
            _record(config.store.path, [(url, length, now) for url, length in answers.items()])
    lengths = dict(selection.lengths)
    for post_id, url in urls.items():
        length = known.get(url, (None, now))[0]
        if length is not None:
            lengths[post_id] = length
    return replace(selection, lengths=lengths)


def next_ask(config: Config, store: Store, now: datetime) -> datetime | None:
    """When a run at `now` or later will next ask an image server again (a failed answer a
    day old), if any: from the failed answers of the last day, of images that may no
    longer be shown too (older ones were asked again by the run at `now` if shown)."""
    if not config.feeds.image_head:
        return None
    failed = failed_since(store, now - RETRY_AFTER)
    return min(failed) + RETRY_AFTER if failed else None


def _unknown(config: Config, selection: Selection) -> dict[str, str]:
    """The absolute URL of each shown post's image whose length is not known yet and that
    its server may be asked for, by post id."""
    site, static_dir = config.site.url, config.content.static_dir
    lengths = selection.lengths  # every shown post with an image, its length or None
    found: dict[str, str] = {}
    seen: set[str] = set()
    for plan in selection.feeds:
        for post in plan.posts:
            # A post shows in several feeds: looked at once.
            if post.id in seen or post.id not in lengths or lengths[post.id] is not None:
                continue
            seen.add(post.id)
            assert post.image is not None
            url = absolute_url(post.image.url, post.url)
            # An image of the site under static_dir is the file's business: a missing file
            # is reported there, not looked for on the server.
            local = static_dir is not None and url.startswith(site)
            if url.startswith(("http://", "https://")) and not local:
                found[post.id] = url
    return found


def _retry(answer: Answer, now: datetime | None) -> bool:
    length, asked = answer
    return length is None and now is not None and now - asked >= RETRY_AFTER


def _recorded(path: Path, urls: set[str]) -> dict[str, Answer] | None:
    """What the state file holds of `urls`; None when it cannot be read."""
    if not path.exists():
        return {}  # and a dry run creates no state file just to look
    try:
        with Store.open(path) as store:
            return load_lengths(store, urls)
    except (StoreError, sqlite3.Error) as e:
        log.warning(
            "%s: cannot read the image lengths it keeps (%s): enclosures of images on other "
            'servers say length="0" until it can',
            path,
            e,
        )
        return None


def _record(path: Path, answers: list[tuple[str, int | None, datetime]]) -> None:
    try:
        with Store.open(path) as store:
            save_lengths(store, answers)
    except (StoreError, sqlite3.Error) as e:
        # The feeds are right this time; only the next run asks again.
        log.warning("%s: cannot keep the image lengths (%s): the next run asks again", path, e)


def head_lengths(
    urls: Iterable[str], timeout: float, *, private: bool = False
) -> Mapping[str, int | None]:
    """Each URL's `Content-Length` from an HTTP HEAD (following redirects), or None when the
    server gave none, answered with an error, or not in time, or is not on the public
    internet (unless `private`).

    In time: `timeout` bounds each wait on a socket, and the whole asking ends after one
    `timeout` per round of requests and one more, so that no server (one sending its answer
    a byte at a time, a name server that never answers) holds the run: a request still
    under way then is left to its thread, which ends with the process (no fork is made
    while it lives: see `parallel`).
    """
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return {}
    opener = urllib.request.build_opener(_KeepHead(private))
    jobs: queue.SimpleQueue[tuple[str, Future[int | None]]] = queue.SimpleQueue()
    answers = {url: Future[int | None]() for url in wanted}
    for job in answers.items():
        jobs.put(job)

    over = threading.Event()  # the time is up: no request is begun any more

    def ask() -> None:
        while True:
            try:
                url, answer = jobs.get_nowait()
            except queue.Empty:
                return
            if over.is_set() or not answer.set_running_or_notify_cancel():
                continue
            try:
                answer.set_result(_head(opener, url, timeout, private))
            except Exception as e:  # one server's oddity, not the run's
                answer.set_exception(e)

    workers = [
        threading.Thread(target=ask, name="image-head", daemon=True)
        for _ in range(min(_AT_ONCE, len(wanted)))
    ]
    for worker in workers:
        worker.start()
    budget = timeout * (-(-len(wanted) // len(workers)) + 1)
    deadline = time.monotonic() + budget
    wait(answers.values(), timeout=budget)
    over.set()
    for worker in workers:  # those done end at once: none is left when all answered
        worker.join(max(0.0, deadline - time.monotonic()))
    lengths: dict[str, int | None] = {}
    for url, answer in answers.items():
        lengths[url] = None
        if not answer.done():
            answer.cancel()  # one not begun is not asked any more
            log.debug("HEAD %s: no whole answer in time", url)
        elif answer.exception() is not None:
            log.debug("HEAD %s: %s", url, answer.exception())
        else:
            lengths[url] = answer.result()
    return lengths


class _NotPublic(urllib.error.URLError):
    """The URL leads off the public internet, or off the web."""


def public_host(url: str) -> bool:
    """Whether every address the URL's host resolves to is on the public internet."""
    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return bool(addresses) and all(a.is_global and not a.is_multicast for a in addresses)


class _KeepHead(urllib.request.HTTPRedirectHandler):
    """Follows a redirect with HEAD again (Python 3.11's handler turns it into a GET), at
    most three times, to an http(s) URL on the public internet (unless `private`)."""

    max_redirections = 3

    def __init__(self, private: bool) -> None:
        super().__init__()
        self.private = private

    def redirect_request(
        self, req: Any, fp: Any, code: Any, msg: Any, headers: Any, newurl: str
    ) -> Any:
        if not newurl.startswith(("http://", "https://")):
            raise _NotPublic(f"redirected off the web ({newurl[:80]!r})")
        if not self.private and not public_host(newurl):
            raise _NotPublic(f"redirected to a private address ({newurl[:80]!r})")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and req.get_method() == "HEAD":
            new.method = "HEAD"
        return new


def _head(opener: Any, url: str, timeout: float, private: bool) -> int | None:
    if not private and not public_host(url):
        log.debug("HEAD %s: not asked, its host is not on the public internet", url)
        return None
    request = urllib.request.Request(
        url, method="HEAD", headers={"User-Agent": f"publisher/{__version__}"}
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            value = response.headers.get("Content-Length")
    except urllib.error.HTTPError as e:
        log.debug("HEAD %s: HTTP %d", url, e.code)
        return None
    except (OSError, ValueError, HTTPException) as e:  # unreachable, timed out, bad URL
        log.debug("HEAD %s: %s", url, getattr(e, "reason", e))
        return None
    try:
        length = int(value) if value is not None else -1
    except ValueError:
        length = -1
    if length < 0:
        log.debug("HEAD %s: no usable Content-Length (%r)", url, value)
        return None
    return length
