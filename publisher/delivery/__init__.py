"""Transport only: hand ready messages to the outbox or an SMTP server, each once.

It knows nothing of templates or subscribers' choices: `publisher.newsletters` builds each
`OutgoingMessage`; this package moves its bytes and records each row's fate in the send
journal:

    __init__.py  deliver: the pass over the due rows, in the thread that owns the store
    replies.py   what each SMTP answer means (RFC 5321 codes, RFC 3463 enhanced codes)
    smtp.py      one session per connection: send a message, say what became of it
    opening.py   opening a session (greeting, TLS, login), and every way that fails
    client.py    smtplib wrapped: replies read strictly, a message framed for DATA
    pool.py      `[delivery.smtp] connections` sessions side by side, one thread each
    ledger.py    the one journal writer: answers -> rows and readers, in batches
    report.py    what a pass tells: its counts, and the readers its answers were about
    outbox.py    the Maildir folder, written in synced batches

`deliver` walks the due rows (older issues first), asks `compose` for each message, marks
the rows `sending` and hands them out (to the connections, or a batch to the outbox), and
records each answer. The journal runs in WAL mode with synchronous=NORMAL, so a commit
costs microseconds and survives a killed process; the writer commits whatever answers
came in since its last commit, together with the rows it hands out next.

The guarantee: every row ends sent, bounced, failed, cancelled or unknown, never lost;
a SIGKILL at any moment duplicates at most the messages on the wire (one per
connection, or the outbox batch being written), because a connection sends no data
before its previous answer is recorded. Rows a dead run left `sending` come back as
`unknown` and are sent again at most `[delivery] unknown_retries` times.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from publisher.config import DeliveryConfig
from publisher.delivery.ledger import Ledger
from publisher.delivery.outbox import Outbox
from publisher.delivery.pool import Done, Pace, Pool, Work
from publisher.delivery.report import DeliveryReport
from publisher.delivery.smtp import SmtpSender
from publisher.errors import DeliveryError, Problem
from publisher.options import DEFAULTS, RunOptions
from publisher.store import Store, holds, journal
from publisher.store.journal import PendingSend

__all__ = [
    "BatchSender",
    "Compose",
    "DeliveryReport",
    "OutgoingMessage",
    "check_delivery",
    "deliver",
    "held_back",
    "open_sender",
]

log = logging.getLogger(__name__)

OUTBOX_BATCH = 64
"""Messages written and synced together into the outbox, then recorded together."""

COMPOSE_AHEAD = 32
"""Messages built at a time before they are handed to the connections (not marked yet)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """A finished message for one subscriber: the journal keys it on (`issue_id`,
    `subscriber_id`); `data` is the whole message as it goes on the wire (CRLF line ends)."""

    issue_id: str
    subscriber_id: int
    recipient: str
    sender: str
    message_id: str
    data: bytes


Compose = Callable[[PendingSend], OutgoingMessage | None]
"""Build the message for a journal row; None when it must not be sent (subscriber left)."""


class BatchSender(Protocol):
    """A destination that takes messages a batch at a time: the outbox, or a dry run's."""

    where: str

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> None: ...

    def close(self) -> None: ...


Sender = BatchSender | SmtpSender


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


def send_one(
    config: DeliveryConfig, message: OutgoingMessage, environ: Mapping[str, str] = os.environ
) -> None:
    """Hand one message to the configured destination outside the journal (a test send);
    DeliveryError with the server's answer when it is not accepted."""
    sender = open_sender(config, environ)
    if isinstance(sender, SmtpSender):
        session = sender.session()
        try:
            attempt = session.send(message)
        finally:
            session.close()
        if attempt.outcome != "sent":
            answer = str(attempt.verdict.reply) if attempt.verdict else attempt.detail
            raise DeliveryError(
                f"{sender.where} did not accept the message to {message.recipient!r} "
                f"({answer or attempt.outcome})"
            )
        return
    try:
        sender.send_batch([message])
    finally:
        sender.close()


def held_back(store: Store, now: datetime) -> tuple[Problem, ...]:
    """The server problem holding every row back at `now`, if one is: a run during the hold
    carries it among its problems, so that it stays reported (printed once) until the
    hold ends and a run finds the server well or not."""
    hold = holds.holding(store, now)
    if hold is None:
        return ()
    where, _, message = hold.problem.partition(": ")  # as `Ledger.stop` recorded it
    return (Problem(where, message, warning=True, same_as=hold.same_as),)


def recover_in_flight(store: Store, now: datetime) -> tuple[Problem, ...]:
    """Rows a pass left `sending` (it died, or could not record the answers) become
    `unknown`: their messages may have arrived; they are sent again at once, at most
    `[delivery] unknown_retries` times. Said once, as a warning. Every pass's caller (a
    run, the web app's confirmations) calls it first, under the run lock."""
    if not journal.unfinished_pass(store):
        return ()  # the common case: nothing to write
    with store.transaction():
        count = journal.recover_in_flight(store, now)
    if not count:
        return ()
    return (
        Problem(
            "[delivery]",
            f"{count} message(s) were being sent when an earlier run ended before recording "
            "the server's answer: they may have arrived, and are sent again now; "
            "'publisher status' counts them as unknown",
            warning=True,
        ),
    )


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
    one) and record what became of each; stop early on a problem of the server, the
    settings or the store, or when `options.stop()` turns true."""
    rows = tuple(
        journal.due(store, now, unknown_retries=config.unknown_retries) if rows is None else rows
    )
    if not rows:
        return DeliveryReport()
    where = _where(config)
    try:
        sender = sender or open_sender(config, options.environ)
    except DeliveryError as e:
        return DeliveryReport(problems=(Problem(where, str(e)),))
    ledger = Ledger(
        store,
        config,
        now,
        where=where,
        server=sender.where,
        newsletters={r.newsletter_id for r in rows},
    )
    try:
        if isinstance(sender, SmtpSender):
            allowed = _within_hourly_cap(store, rows, config.smtp.per_hour, now)
            _send_smtp(
                sender, config.smtp.connections, config.smtp.rate, ledger, allowed, compose, options
            )
        else:
            _send_batches(sender, ledger, rows, compose, options)
    finally:
        if not isinstance(sender, SmtpSender):
            sender.close()
    return ledger.finish(len(rows))


def _where(config: DeliveryConfig) -> str:
    """The settings a delivery problem is about."""
    return "[delivery] outbox_dir" if config.method == "outbox" else "[delivery.smtp]"


def _within_hourly_cap(
    store: Store, rows: tuple[PendingSend, ...], per_hour: int | None, now: datetime
) -> tuple[PendingSend, ...]:
    """The rows `[delivery.smtp] per_hour` lets go now, counting those sent in the last hour
    (by every run)."""
    if per_hour is None:
        return rows
    room = max(per_hour - journal.sent_since(store, now - timedelta(hours=1)), 0)
    if room < len(rows):
        log.info("[delivery.smtp] per_hour: %d of %d messages go now", room, len(rows))
    return rows[:room]


def _send_smtp(
    sender: SmtpSender,
    connections: int,
    rate: float | None,
    ledger: Ledger,
    rows: Sequence[PendingSend],
    compose: Compose,
    options: RunOptions,
) -> None:
    """Hand the rows to `connections` sessions at once; record every answer here."""
    if not rows:
        return
    stop, progress = options.stop, options.progress
    pool = Pool(sender, min(connections, len(rows)), Pace(rate), stop)
    window = 2 * pool.alive  # one on the wire and one waiting, per connection
    todo = deque(rows)
    composed: deque[Work] = deque()  # built ahead, not handed out yet
    out = 0  # rows handed out and not answered
    try:
        while True:
            work: list[Work] = []
            if ledger.stopped is None and not stop():
                while out + len(work) < window and (composed or todo):
                    if not composed:
                        _compose_ahead(compose, todo, composed, ledger)
                        continue
                    work.append(composed.popleft())
                ledger.handing_out([row for row, _ in work])
            else:
                pool.halt()  # before the commit lets a connection's next data go
            work = ledger.still_to_send(work) if ledger.commit() else []
            pool.put(work)
            out += len(work)
            if ledger.stopped is not None or stop():
                pool.halt()
            if out == 0:
                if ledger.stopped is not None or stop() or pool.alive == 0:
                    break
                if todo or composed:
                    continue  # every row of that handing-out had left: hand out the next
                break
            for done in pool.take():
                out -= 1
                if done.outcome == "untried":
                    _untried(ledger, pool, done, todo)
                else:
                    ledger.record(done)  # stops sending when `trouble` left it in doubt
                    if done.trouble is not None:
                        pool.alive -= 1  # that connection retired
                if pool.alive == 0:  # nobody left to take what is queued
                    left = [row for row, _ in pool.unclaimed()]
                    out -= len(left)
                    ledger.release(left)
            if progress is not None:
                progress("sending", ledger.recorded, len(rows))
        if stop() and ledger.recorded < len(rows):
            log.info("stopping: %d messages left for the next run", len(rows) - ledger.recorded)
    finally:
        pool.halt()
        pool.close()
        ledger.commit()


def _compose_ahead(
    compose: Compose, todo: deque[PendingSend], composed: deque[Work], ledger: Ledger
) -> None:
    """Build the next COMPOSE_AHEAD messages in one go (the code and the issue's bytes stay
    in the CPU's caches: a third of the cost of one at a time between answers)."""
    for _ in range(min(COMPOSE_AHEAD, len(todo))):
        row = todo.popleft()
        message = compose(row)
        if message is None:
            ledger.cancelled(row)
        else:
            composed.append((row, message))


def _untried(ledger: Ledger, pool: Pool, done: Done, todo: deque[PendingSend]) -> None:
    """A row a connection gave back: sending stops, or another connection takes it (unless
    the trouble came at its own RCPT TO: then it waits for the others)."""
    trouble = done.trouble
    if trouble is not None and trouble.suspect:
        ledger.set_aside(done, trouble)
    else:
        ledger.release([done.row])
    if trouble is not None:
        pool.alive -= 1
        problem = trouble.problem(ledger.where)
        if trouble.lasting or pool.alive == 0:
            ledger.stop(problem)
        else:
            log.info("%s; going on with %d connection(s)", problem, pool.alive)
    if ledger.stopped is None and pool.alive > 0 and not (trouble and trouble.suspect):
        todo.appendleft(done.row)


def _send_batches(
    sender: BatchSender,
    ledger: Ledger,
    rows: Sequence[PendingSend],
    compose: Compose,
    options: RunOptions,
) -> None:
    """Hand the rows over `OUTBOX_BATCH` at a time, recording each batch once it is in."""
    stop, progress = options.stop, options.progress
    for start in range(0, len(rows), OUTBOX_BATCH):
        if stop():
            log.info("stopping: %d messages left for the next run", len(rows) - start)
            break
        work: list[Work] = []
        for row in rows[start : start + OUTBOX_BATCH]:
            message = compose(row)
            if message is None:
                ledger.cancelled(row)
            else:
                work.append((row, message))
        ledger.handing_out([row for row, _ in work])
        if not ledger.commit():
            break
        work = ledger.still_to_send(work)
        try:
            sender.send_batch([message for _, message in work])
        except DeliveryError as e:  # a setting or the disk: no use trying the others
            ledger.release([row for row, _ in work])
            ledger.stop(Problem(ledger.where, str(e)))
            break
        for row, message in work:
            ledger.record(Done(row, message.message_id, "sent"))
        if not ledger.commit():
            break
        if progress is not None:
            progress("sending", ledger.recorded, len(rows))
