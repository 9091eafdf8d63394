"""The journal writer: what each server answer makes of its row and reader, recorded in batches.

One `Ledger` per pass, in the thread that owns the store. The connections hand it their
answers; it queues the journal writes and `commit()` makes them in one transaction (all
the answers that came in meanwhile, and the rows handed out next).

What an answer does (the kinds are `replies.Kind`):

- accepted: the row is `sent`;
- no answer after the data: the row is `unknown`, sent again after `retry_after` while
  it has been unknown at most `unknown_retries` times. A second one with no message
  accepted in between (or on the same connection), or an answer that is not SMTP, is
  the server's fault: sending stops as for a server problem;
- a refusal, temporary or permanent, is *held*, not written, until the next answer: an
  acceptance or a different answer settles it (temporary: the row alone waits,
  `retry_after` doubling with each attempt, `failed` after `max_attempts`; hard: the row
  and the reader bounce; soft: the row bounces, the reader after `soft_bounce_limit` in
  a row; refused: the row fails; policy: the row waits like a temporary refusal). When
  `stop_after_same_refusals` different recipients in a row get the same answer, the
  server is at fault: the held rows go back untouched (no attempt counted, tried after
  the others next time), sending stops, and nobody is bounced or named.
  A pass that ends with refusals held and no acceptance at all bounces nobody either:
  the rows wait like temporary refusals.

A problem of the server or the settings stops sending; it is reported once and recorded
in the journal (for `publisher status`), holding every row back for `retry_after` unless
only a change of settings can fix it. A write the store refuses (disk full, read-only,
locked too long) stops sending too: the rows it could not record stay `sending`, and
the next run treats them as `unknown`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from publisher.config import DeliveryConfig
from publisher.delivery.opening import ServerTrouble
from publisher.delivery.pool import Done, Work
from publisher.delivery.replies import Kind, steady
from publisher.delivery.report import DeliveryReport, told
from publisher.delivery.smtp import unanswered_again
from publisher.errors import Problem, StoreError
from publisher.store import Store, holds, journal, subscribers
from publisher.store.journal import PendingSend

log = logging.getLogger(__name__)

SUSPECT_LIMIT = 3
"""Runs a row's own RCPT TO may break the session (a timeout, an answer not SMTP) before it
is taken for that row's own temporary failure."""


@dataclass
class _Streak:
    """Refusals in a row with the same answer, and those of them held back."""

    key: tuple[str, int, str] | None = None
    recipients: set[str] = field(default_factory=set)
    held: list[Done] = field(default_factory=list)


Write = Callable[[Store], None]


class Ledger:
    """Records one pass's answers in the journal, in batches; knows when sending must stop."""

    def __init__(
        self,
        store: Store,
        config: DeliveryConfig,
        now: datetime,
        *,
        where: str,
        server: str,
        newsletters: Iterable[str],
    ) -> None:
        """`where`: the settings problems are about; `server`: what messages name."""
        self.store = store
        self.config = config
        self.now = now
        self.where = where
        self.server = server
        self.newsletters = tuple(sorted(set(newsletters)))
        self.stopped: Problem | None = None  # why sending stopped, once it has
        self.recorded = 0  # rows whose fate this pass has recorded
        self._writes: list[Write] = []
        self._fences: list[threading.Event] = []
        self._counts: Counter[str] = Counter()  # of the rows recorded and committed
        self._unsaved: Counter[str] = Counter()  # of those whose writes wait for a commit
        self._unsaved_rows = 0
        self._streak = _Streak()
        self._accepted = False
        self._in_doubt = 0  # messages in doubt since the last one accepted
        self._faulted = False
        # The store refused a write: nothing more is recorded from then on.
        self._broken: Problem | None = None
        self._begun = False  # rows were handed out: the journal knows a pass is going on
        self._gone: set[PendingSend] = set()  # handed out, but cancelled meanwhile
        self._notes: dict[str, list[str]] = {}
        self._unsaved_notes: list[tuple[str, str]] = []  # told once their writes commit

    # -- what happened ---------------------------------------------------------------

    def handing_out(self, rows: list[PendingSend]) -> None:
        """These rows are about to go to a connection (or the outbox)."""
        if rows:
            if not self._begun:
                self._begun = True
                self._writes.append(lambda s: journal.begin_pass(s, self.now))
            self._writes.append(
                lambda s: self._gone.update(journal.mark_sending(s, rows, self.now))
            )

    def still_to_send(self, work: list[Work]) -> list[Work]:
        """`work` but the rows that turned out cancelled when they were handed out (their
        reader left after the message was built): counted cancelled, not sent."""
        if not self._gone:
            return work
        kept = [w for w in work if w[0] not in self._gone]
        self._counts["cancelled"] += len(work) - len(kept)
        self._gone.clear()
        return kept

    def cancelled(self, row: PendingSend) -> None:
        """The row's reader left before it went out."""
        self._unsaved["cancelled"] += 1
        self._writes.append(
            lambda s: journal.mark_cancelled(s, row, "no longer subscribed", self.now)
        )

    def release(self, rows: list[PendingSend], *, suspect: bool = False) -> None:
        """These rows were handed out and not tried: back as they were."""
        if rows:
            self._writes.append(lambda s: journal.release(s, rows, self.now, suspect=suspect))

    def set_aside(self, done: Done, trouble: ServerTrouble) -> None:
        """A row whose own RCPT TO met `trouble` (a timeout, an answer not SMTP): tried after
        the others next time; after SUSPECT_LIMIT times, a temporary failure of its own
        (an attempt counted, its wait doubling), so that it cannot stop every run."""
        row = done.row
        if row.suspect + 1 < SUSPECT_LIMIT:
            self.release([row], suspect=True)
            self._note("set_aside", row.recipient, f"{row.suspect + 1} of {SUSPECT_LIMIT}")
            return
        detail = f"{self.server} failed at its RCPT TO {row.suspect + 1} times: {trouble}"
        self._retry(replace(done, detail=detail[:500]), note="deferred")

    def record(self, done: Done) -> None:
        """One answer from a connection (anything but `untried`)."""
        if done.outcome == "sent":
            self._settle()  # an acceptance: the refusals before it were about their readers
            self._accepted = True
            self._in_doubt = 0
            self._sent(done)
        elif done.outcome == "unknown":
            self._unknown(done)
            self._in_doubt += 1
            trouble = done.trouble
            if trouble is None and self._in_doubt > 1:  # on another connection, at once
                trouble = unanswered_again(self.server, done.detail)
            if trouble is not None:
                self.stop(trouble.problem(self.where))
        else:
            self._refused(done)

    def stop(self, problem: Problem) -> None:
        """Stop sending for `problem` (reported once, kept in the journal). A warning is one
        that may pass by itself: rows are then held back for `retry_after`."""
        if self.stopped is not None:
            log.debug("also: %s", problem)
            return
        # Told once however many runs it stops, whichever reader the server's answer names.
        self.stopped = problem = replace(problem, same_as=problem.same_as or steady(str(problem)))
        until = self.now + self.config.retry_after if problem.warning else None
        text, same_as = str(problem), problem.same_as
        self._writes.append(
            lambda s: holds.record_problem(s, text, self.newsletters, self.now, until, same_as)
        )

    def commit(self) -> bool:
        """Make the queued writes in one transaction; False (and sending stopped) when the
        store refuses them."""
        writes, self._writes = self._writes, []
        fences, self._fences = self._fences, []
        if writes and self._broken is None:
            try:
                with self.store.transaction():
                    for write in writes:
                        write(self.store)
            except StoreError as e:
                self._broken = Problem("[store] path", f"{e}; sending stopped")
                self.stopped = self.stopped or self._broken
        unsaved, self._unsaved = self._unsaved, Counter()
        rows, self._unsaved_rows = self._unsaved_rows, 0
        notes, self._unsaved_notes = self._unsaved_notes, []
        if self._broken is not None:  # what those writes would have made is not told
            # Those rows stay `sending` (the next run counts them unknown): so does this one.
            self._counts["unknown"] += rows
            return False
        self._counts.update(unsaved)
        for what, note in notes:
            self._notes.setdefault(what, []).append(note)
        for fence in fences:
            fence.set()
        return True

    def finish(self, total: int) -> DeliveryReport:
        """Settle what is still held, make the last writes, and say what the pass did with
        its `total` rows (those it never recorded are counted deferred: left for later)."""
        if self._streak.held and not self._faulted:
            if self._accepted:
                self._settle()
            else:
                held, self._streak = self._streak.held, _Streak()
                for done in held:
                    temporary = done.verdict is not None and done.verdict.kind is Kind.TEMPORARY
                    self._retry(done, note="deferred" if temporary else "unanswered")
        if self._begun:
            self._writes.append(journal.end_pass)
        self.commit()
        counts = self._counts
        return DeliveryReport(
            sent=counts["sent"],
            bounced=counts["bounced"],
            failed=counts["failed"],
            cancelled=counts["cancelled"],
            deferred=counts["deferred"] + total - self.recorded - counts["cancelled"],
            unknown=counts["unknown"],
            problems=tuple(self._problems()),
        )

    # -- each kind of answer -----------------------------------------------------------

    def _tally(self, kind: str | None) -> None:
        """One more row's fate recorded: counted as `kind` once committed."""
        self.recorded += 1
        self._unsaved_rows += 1
        if kind is not None:
            self._unsaved[kind] += 1

    def _sent(self, done: Done) -> None:
        self._tally("sent")
        row, message_id = done.row, done.message_id
        self._writes.append(lambda s: journal.mark_sent(s, row, message_id, self.now))
        self._fences.append(done.recorded)

    def _unknown(self, done: Done) -> None:
        self._tally("unknown")
        row = done.row
        retry_at = self.now + self.config.retry_after
        reply = f"{self.server}: {done.detail}: it may have arrived"
        self._writes.append(lambda s: journal.mark_unknown(s, row, reply, self.now, retry_at))
        self._fences.append(done.recorded)
        again = row.unknowns < self.config.unknown_retries
        self._note("unknown" if again else "unknown_kept", row.recipient, done.detail)

    def _refused(self, done: Done) -> None:
        verdict = done.verdict
        assert verdict is not None
        if self._faulted:  # the server's fault already: no refusal now says a thing
            self.release([done.row])
            return
        streak = self._streak
        if verdict.key != streak.key:
            self._settle()
            streak = self._streak = _Streak(verdict.key)
        streak.recipients.add(done.row.recipient.lower())
        streak.held.append(done)  # a 4xx too: the same one for everyone is the server's
        limit = self.config.stop_after_same_refusals
        if len(streak.recipients) >= limit:
            self._faulted = True
            self.release([d.row for d in streak.held], suspect=True)
            reply = verdict.reply
            same = f"gave {limit} different recipients in a row the same answer ({reply})"
            if reply.permanent:
                message = (
                    f"{self.server} {same}: the fault is the server's or the settings', not "
                    "the readers', so nobody was marked bounced: check [delivery.smtp] host "
                    "and username (does this relay let us send to other domains?) and the "
                    "newsletter's sender; every row stays pending"
                )
            else:
                message = (
                    f"{self.server} {same}: sending resumes after [delivery] retry_after; "
                    "every row stays pending"
                )
            same_as = steady(f"{self.where}: {message}", reply)
            self.stop(Problem(self.where, message, warning=not reply.permanent, same_as=same_as))

    def _settle(self) -> None:
        """The refusals held are about their readers: record each by its kind."""
        if self._streak.key is None:
            return  # no refusal since the last acceptance: the common case
        held, self._streak = self._streak.held, _Streak()
        for done in held:
            assert done.verdict is not None
            kind = done.verdict.kind
            if kind is Kind.HARD:
                self._bounce(done)
            elif kind is Kind.SOFT:
                self._soft_bounce(done)
            elif kind is Kind.REFUSED:
                self._fail(done)
            else:
                self._retry(done, note="deferred" if kind is Kind.TEMPORARY else "policy")

    def _bounce(self, done: Done) -> None:
        self._tally("bounced")
        row, reply = done.row, str(done.verdict.reply if done.verdict else "")

        def write(s: Store) -> None:
            journal.mark_bounced(s, row, reply, self.now, "hard")
            subscribers.set_status(s, row.subscriber_id, "bounced", self.now, reply[:500])

        self._writes.append(write)
        self._note("bounced", row.recipient, reply)

    def _soft_bounce(self, done: Done) -> None:
        self._tally("bounced")
        row, reply = done.row, str(done.verdict.reply if done.verdict else "")
        limit = self.config.soft_bounce_limit

        def write(s: Store) -> None:
            journal.mark_bounced(s, row, reply, self.now, "soft")
            count = journal.soft_bounces_in_a_row(s, row.subscriber_id, limit)
            if count >= limit:
                why = f"{count} soft bounces in a row; the last: {reply}"
                subscribers.set_status(s, row.subscriber_id, "bounced", self.now, why[:500])
                self._note("soft_bounced", row.recipient, reply)
            else:
                self._note("soft", row.recipient, f"{reply} ({count} of {limit})")

        self._writes.append(write)

    def _fail(self, done: Done) -> None:
        self._tally("failed")
        row, reply = done.row, str(done.verdict.reply if done.verdict else "")
        self._writes.append(lambda s: journal.mark_failed(s, row, reply, self.now))
        self._note("refused", row.recipient, reply)

    def _retry(self, done: Done, *, note: str) -> None:
        self._tally(None)  # deferred, or failed past max_attempts: its write tells
        row, reply = done.row, str(done.verdict.reply) if done.verdict else done.detail
        config = self.config

        def write(s: Store) -> None:
            kept = journal.retry_later(
                s,
                row,
                reply,
                self.now,
                retry_after=config.retry_after,
                max_attempts=config.max_attempts,
            )
            self._unsaved["deferred" if kept else "failed"] += 1
            self._note(note if kept else "gave_up", row.recipient, reply)

        self._writes.append(write)

    # -- what to report ----------------------------------------------------------------

    def _note(self, what: str, recipient: str, reply: str) -> None:
        """Name a reader in the pass's report, once the writes queued with it commit."""
        self._unsaved_notes.append((what, f"{recipient!r} ({reply})"))

    def _problems(self) -> list[Problem]:
        notes = self._notes
        if self.stopped is not None:  # its problem says it: told once, not each run
            notes = {what: listed for what, listed in notes.items() if what != "set_aside"}
        found = told(self.where, self.server, notes, self.config)
        found += [p for p in (self.stopped, self._broken) if p is not None]
        return list(dict.fromkeys(found))  # the store's trouble may be what stopped sending
