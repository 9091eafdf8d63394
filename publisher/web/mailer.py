"""Send confirmation emails from a thread of the web app, as soon as they are queued.

A request only records the email in the send journal (`newsletters.confirm.request`) and
wakes this thread, so a slow mail server never holds a page. The thread sends what is due
when no run holds the lock (`confirm.send_now`), and looks again every minute, so an email
left behind by a busy lock or a server that said "later" still goes out (or the next
`publisher run` sends it: the journal sends each once, whoever takes it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from publisher.config import Config
from publisher.errors import PublisherError
from publisher.newsletters.confirm import send_now
from publisher.options import RunOptions

log = logging.getLogger(__name__)

_LOOK_AGAIN = 60.0  # seconds between looks when nothing woke the thread


class Mailer:
    """One daemon thread that sends due confirmation emails; `wake()` after queueing one."""

    def __init__(
        self,
        config: Config,
        secret: bytes,
        environ: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.secret = secret
        self.environ = environ
        self.clock = clock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Send what is due now (starting the thread on first use)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="publisher-mailer", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the message in flight finish, then end the thread."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(_LOOK_AGAIN)
            self._wake.clear()
            if self._stopping.is_set():
                return
            self.send_due()

    def send_due(self) -> None:
        """Send the due confirmation emails now (in the calling thread); problems logged."""
        options = RunOptions(environ=self.environ, stop=self._stopping.is_set)
        try:
            report = send_now(self.config, self.secret, self.clock(), options)
        except PublisherError as e:
            log.warning("confirmation emails: %s", e)
            return
        except Exception:  # the thread must live on; the journal keeps the emails
            log.exception("confirmation emails: unexpected error")
            return
        if report is None:
            log.debug("confirmation emails: a run holds the lock; it sends them")
            return
        for problem in report.problems:
            log.warning("confirmation emails: %s", problem)
        if report.sent:
            log.info("confirmation emails: %d sent", report.sent)
