"""Stopping a run gently: SIGTERM or Ctrl-C lets the message in flight finish and be recorded."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


@contextmanager
def graceful_stop() -> Iterator[threading.Event]:
    """While inside, SIGTERM and the first Ctrl-C set the event instead of killing the process.

    A second Ctrl-C interrupts at once, as usual.
    """
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("stopping: finishing the message in flight (signal %d)", signum)
        stop.set()

    for sig in previous:
        signal.signal(sig, handle)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
