"""Stopping a run promptly and cleanly: SIGTERM or Ctrl-C end it within moments, at any stage.

`graceful_stop()` turns SIGTERM and the first Ctrl-C into a request: an event that the
stages look at between files, feeds and messages (`RunOptions.stop`). Work that writes
nothing half-way (reading posts, rendering feeds and emails) runs inside `interruptible()`,
where the request also raises `Stopped` at once, wherever the main thread is: one slow
file cannot hold a run past a stop. A step that must not be cut in two (writing a batch of
files, a message handed to the server and recorded) runs inside `shielded()`: the request
waits for its end. A second Ctrl-C interrupts at once, as usual.

    with graceful_stop() as stop:              # the CLI
        with interruptible():                  # a stage that may end anywhere
            ...
            with shielded():                   # a step that must finish
                ...                            # Stopped is raised after it, if asked
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


class Stopped(BaseException):
    """The run was asked to stop (SIGTERM, Ctrl-C): raised where it can end cleanly.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` turns it into a
    problem with a post or a template.
    """


class _State:
    """What the signal handler needs to know about the main thread."""

    def __init__(self) -> None:
        self.requested: threading.Event | None = None  # set by graceful_stop
        self.interruptible = 0  # depth of interruptible() in the main thread
        self.shielded = 0  # depth of shielded() in the main thread


_state = _State()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _asked() -> bool:
    return _state.requested is not None and _state.requested.is_set()


@contextmanager
def graceful_stop() -> Iterator[threading.Event]:
    """While inside, SIGTERM and the first Ctrl-C set the event instead of killing the
    process (and raise Stopped inside `interruptible()`). A second Ctrl-C interrupts."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    outer = _state.requested

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if stop.is_set():
            return  # raised once: a second SIGTERM must not cut the clean-up short
        stop.set()
        log.info(
            "stopping: finishing the message in flight (signal %d), or the step under way "
            "that must not be cut in two",
            signum,
        )
        if _state.interruptible and not _state.shielded:
            raise Stopped

    _state.requested = stop
    for sig in previous:
        signal.signal(sig, handle)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _state.requested = outer


@contextmanager
def interruptible() -> Iterator[None]:
    """In the main thread, a stop raises Stopped at once while inside (Stopped at the start
    if one was asked already); elsewhere, nothing changes."""
    if not _in_main_thread():
        yield
        return
    if _asked():
        raise Stopped
    _state.interruptible += 1
    try:
        yield
    finally:
        _state.interruptible -= 1


@contextmanager
def shielded() -> Iterator[None]:
    """A step a stop must not cut in two: a stop asked meanwhile raises Stopped after it
    (when inside `interruptible()`)."""
    if not _in_main_thread():
        yield
        return
    _state.shielded += 1
    try:
        yield
    finally:
        _state.shielded -= 1
    if _asked() and _state.interruptible and not _state.shielded:
        raise Stopped
