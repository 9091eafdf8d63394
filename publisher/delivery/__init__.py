"""Transport only: hand ready messages to the outbox or an SMTP server, each once.

It knows nothing of templates or subscribers' choices: `publisher.newsletters` builds each
`OutgoingMessage`; this package moves its bytes (outbox.py, smtp.py) and records each
row's fate in the send journal.

`deliver` walks the due rows of the send journal (older issues first) and, for each, asks
`compose` for the message, hands it over, and records the outcome in its own small
transaction right after the server's answer. The journal runs in WAL mode with
synchronous=NORMAL, so such a commit costs microseconds and survives a killed process;
committing per message is what keeps a crash down to one duplicate at most.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from publisher.config import DeliveryConfig
from publisher.delivery.outbox import Outbox
from publisher.delivery.smtp import MessageRefused, RecipientRefused, SmtpSender, TemporaryFailure
from publisher.errors import DeliveryError, Problem
from publisher.options import DEFAULTS, RunOptions
from publisher.store import Store, journal, subscribers
from publisher.store.journal import PendingSend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    """A finished message for one subscriber: the journal keys it on (`issue_id`,
    `subscriber_id`); `data` is the whole message as it goes on the wire."""

    issue_id: str
    subscriber_id: int
    recipient: str
    sender: str
    message_id: str
    data: bytes


Compose = Callable[[PendingSend], OutgoingMessage | None]
"""Build the message for a journal row; None when it must not be sent (subscriber left)."""


class Sender(Protocol):
    """Where messages go: the outbox or an SMTP server."""

    def send(self, message: OutgoingMessage) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass over the journal did."""

    sent: int = 0
    bounced: int = 0
    failed: int = 0
    cancelled: int = 0
    deferred: int = 0
    problems: tuple[Problem, ...] = ()


def open_sender(config: DeliveryConfig, environ: Mapping[str, str] = os.environ) -> Sender:
    """The configured destination; settings that cannot work fail here, before any send."""
    if config.method == "smtp":
        return SmtpSender(config.smtp, environ)
    return Outbox(config.outbox_dir)


def check_delivery(config: DeliveryConfig, environ: Mapping[str, str]) -> list[Problem]:
    """Problems with the delivery settings that can be seen without sending (for `check`)."""
    if config.method == "outbox":
        folder = config.outbox_dir
        existing = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            return [
                Problem(
                    "[delivery] outbox_dir",
                    f"{folder}: cannot create or write the outbox there: choose a writable folder",
                )
            ]
        return []
    try:
        SmtpSender(config.smtp, environ)
    except DeliveryError as e:
        return [Problem("[delivery.smtp] password_env", str(e))]
    return []


def deliver(
    config: DeliveryConfig,
    store: Store,
    compose: Compose,
    now: datetime,
    *,
    rows: Sequence[PendingSend] | None = None,
    sender: Sender | None = None,
    options: RunOptions = DEFAULTS,
) -> DeliveryReport:
    """Send `rows` (default: every due journal row) through `sender` (default: the configured
    one); stop early on a temporary failure, a wrong setting, or when `options.stop()` turns
    true. A recipient refused for good is marked bounced in the journal and in the store."""
    stop, progress = options.stop, options.progress
    rows = tuple(journal.due(store, now) if rows is None else rows)
    if not rows:
        return DeliveryReport()
    where = _where(config)
    counts = dict.fromkeys(("sent", "bounced", "failed", "cancelled", "deferred"), 0)
    problems: list[Problem] = []
    try:
        sender = sender or open_sender(config, options.environ)
    except DeliveryError as e:
        return DeliveryReport(problems=(Problem(where, str(e)),))
    try:
        for done, row in enumerate(rows):
            if stop():
                log.info("stopping: %d messages left for the next run", len(rows) - done)
                break
            try:
                outcome, problem = _hand_over(sender, store, compose, row, now, where)
            except TemporaryFailure as e:
                problem, gave_up = _retry(config, store, rows[done:], e, now)
                counts["failed"] += gave_up
                counts["deferred"] += len(rows) - done - gave_up
                problems.append(problem)
                break
            except DeliveryError as e:  # a setting is wrong: no use trying the others
                problems.append(Problem(where, str(e)))
                break
            counts[outcome] += 1
            if problem is not None:
                problems.append(problem)
            if progress is not None:
                progress("sending", done + 1, len(rows))
    finally:
        sender.close()
    return DeliveryReport(**counts, problems=tuple(problems))


def _hand_over(
    sender: Sender,
    store: Store,
    compose: Compose,
    row: PendingSend,
    now: datetime,
    where: str,
) -> tuple[str, Problem | None]:
    """Send one row's message and record the outcome at once: (outcome, problem or None).

    Raises TemporaryFailure and DeliveryError, which end the pass.
    """
    message = compose(row)
    if message is None:
        with store.transaction():
            journal.mark_cancelled(store, row, "no longer subscribed", now)
        return "cancelled", None
    try:
        sender.send(message)
    except RecipientRefused as e:
        with store.transaction():
            journal.mark_bounced(store, row, e.reply, now)
            subscribers.set_status(store, row.subscriber_id, "bounced", now, e.reply[:500])
        return "bounced", Problem(where, f"{e}: marked bounced", warning=True)
    except MessageRefused as e:
        with store.transaction():
            journal.mark_failed(store, row, e.reply, now)
        return "failed", Problem(where, f"{e}: not sent to this subscriber")
    with store.transaction():
        journal.mark_sent(store, row, message.message_id, now)
    return "sent", None


def _where(config: DeliveryConfig) -> str:
    """The settings a delivery problem is about."""
    return "[delivery] outbox_dir" if config.method == "outbox" else "[delivery.smtp]"


def _retry(
    config: DeliveryConfig,
    store: Store,
    rows: tuple[PendingSend, ...],
    error: TemporaryFailure,
    now: datetime,
) -> tuple[Problem, int]:
    """Leave `rows` for a later run: the one tried counts an attempt; a dead server, all.

    Returns the problem to report and how many rows reached max_attempts and failed.
    """
    tried, rest = (rows, ()) if error.connection else (rows[:1], rows[1:])
    gave_up = 0
    with store.transaction():
        for row in tried:
            kept = journal.retry_later(
                store,
                row,
                error.reply,
                now,
                retry_after=config.retry_after,
                max_attempts=config.max_attempts,
            )
            gave_up += not kept
        journal.postpone(store, rest, now + config.retry_after, now)
    where = _where(config)
    if gave_up:
        message = (
            f"{error}: gave up on {gave_up} message(s) after {config.max_attempts} attempts "
            "([delivery] max_attempts)"
        )
        return Problem(where, message), gave_up
    return Problem(where, f"{error}: {len(rows)} message(s) left for a later run", warning=True), 0
