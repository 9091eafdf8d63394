"""SMTP sessions side by side: one thread per connection, the journal writer in the caller's.

The writer hands out (row, message) pairs through one queue and reads back one `Done` per
pair. A connection's thread takes the next pair, waits for its turn under `rate`, and sends
it on its own session (the work is waiting on the network, so threads serve well). A
session that fails for a reason of the server retires; the others go on, unless it left
a message in doubt (then sending stops).

Before the data of its next message goes out, a thread waits until the writer has recorded
the answer to its previous one (`Done.recorded`). So when the process dies at any moment,
each connection has at most one message that may have been delivered and is not recorded
sent: the one on the wire.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from publisher.delivery.opening import ServerTrouble
from publisher.delivery.replies import Verdict
from publisher.delivery.smtp import Abandoned, SmtpSender
from publisher.store.journal import PendingSend

if TYPE_CHECKING:
    from publisher.delivery import OutgoingMessage

log = logging.getLogger(__name__)

Outcome = Literal["sent", "refused", "unknown", "untried"]


@dataclass(frozen=True)
class Done:
    """What became of one row handed to a connection (`untried`: not sent, for `trouble`
    or because sending is stopping). `trouble` retired the connection: with `unknown`, it
    is the server's fault that the message is in doubt, and sending stops. `recorded` is
    set once the writer has recorded it."""

    row: PendingSend
    message_id: str
    outcome: Outcome
    verdict: Verdict | None = None
    detail: str = ""
    trouble: ServerTrouble | None = None
    recorded: threading.Event = field(default_factory=threading.Event, compare=False)


Work = tuple[PendingSend, "OutgoingMessage"]


class Pace:
    """`rate` messages a second at most, across every session together."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next_at = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next message may go (at once without a rate)."""
        if not self._interval:
            return
        # A monotonic clock, as wall time may jump; each caller takes the next free slot.
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_at)
            self._next_at = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class Pool:
    """`connections` sessions of `sender`, each in its own thread, until `close()`."""

    def __init__(
        self, sender: SmtpSender, connections: int, pace: Pace, stop: Callable[[], bool]
    ) -> None:
        self._sender = sender
        self._pace = pace
        self._stop = stop
        self._halt = threading.Event()
        self._work: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Done] = queue.SimpleQueue()
        self.alive = connections
        self._threads = [
            threading.Thread(target=self._run, name=f"smtp-{n}", daemon=True)
            for n in range(connections)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, work: Sequence[Work]) -> None:
        """Queue pairs for the next free connection."""
        for item in work:
            self._work.put(item)

    def take(self) -> list[Done]:
        """Wait for one answer, then take every other one already there."""
        found = [self._done.get()]
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def halt(self) -> None:
        """Send nothing more: each connection finishes the message on the wire, hands back
        the rest untried, and waits for no record."""
        self._halt.set()

    def unclaimed(self) -> list[Work]:
        """Take back the pairs no connection took (when none is left to take them)."""
        found: list[Work] = []
        while True:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                return found
            if item is not None:
                found.append(item)

    def close(self) -> None:
        """Let every thread end (each says QUIT) and wait for them."""
        for _ in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join()

    def _halted(self) -> bool:
        return self._halt.is_set() or self._stop()

    def _run(self) -> None:
        session = self._sender.session()
        previous: threading.Event | None = None

        def ready() -> bool:
            # Whether the previous message's answer is recorded (or we must stop anyway).
            while previous is not None and not previous.wait(0.05):
                if self._halt.is_set():
                    return False
            return not self._halted()

        try:
            while True:
                item = self._work.get()
                if item is None:
                    return
                row, message = item
                if self._halted():
                    self._done.put(Done(row, message.message_id, "untried"))
                    continue
                self._pace.wait()
                try:
                    attempt = session.send(message, ready)
                except Abandoned:
                    self._done.put(Done(row, message.message_id, "untried"))
                    continue
                except ServerTrouble as e:
                    self._done.put(Done(row, message.message_id, "untried", trouble=e))
                    return  # this connection retires; the writer decides for the rest
                except Exception as e:  # a bug: the writer must hear of it, not wait forever
                    # Its text may hold a secret (a password smtplib could not encode):
                    # at -vvv its frames are shown, never its text.
                    frames = "".join(traceback.format_tb(e.__traceback__))
                    log.debug("%s: %s at:\n%s", session.where, type(e).__name__, frames)
                    trouble = ServerTrouble(
                        f"{session.where}: unexpected error ({type(e).__name__}) while sending: "
                        "the message stays pending; this is a bug in publisher: please "
                        "report it with what 'publisher -vvv run' prints",
                        lasting=True,
                    )
                    self._done.put(Done(row, message.message_id, "untried", trouble=trouble))
                    return
                done = Done(
                    row,
                    message.message_id,
                    attempt.outcome,
                    attempt.verdict,
                    attempt.detail,
                    attempt.trouble,
                )
                previous = done.recorded if attempt.outcome in ("sent", "unknown") else None
                self._done.put(done)
                if attempt.trouble is not None:
                    return  # in doubt for the server's reason: the writer stops sending
        finally:
            session.close()
