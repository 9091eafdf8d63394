"""Hand messages to an SMTP server: one `Session` per connection, reopened when dropped.

`SmtpSender` holds the settings and the password (checked before anything is sent);
`deliver` runs `[delivery.smtp] connections` sessions at once (pool.py), talking through
the client of client.py. A session's
`send` says what became of one message, sorted by `replies.classify`:

- `Attempt("sent")`: the server accepted it;
- `Attempt("refused", verdict)`: the server refused this recipient or this message (4xx or
  5xx); the journal writer decides what that makes of the row and the reader;
- `Attempt("unknown")`: the data went out and no answer came (a timeout, the connection
  lost) or none that is SMTP: it may have arrived. With `trouble` when that is the
  server's fault (a second one in a row, an answer that is not SMTP): this session is
  done, and sending stops;
- `ServerTrouble`: the server, the connection or a setting failed, not this message, which
  was not delivered: this session is done.

Nothing is delivered until the server has the whole message and its closing dot, so a
connection lost before the answer to the data is reopened and the message tried once
more at once. The message goes out as it was built (CRLF line ends, 7-bit): it is only
dot-stuffed where a line starts with a dot, and the addresses, checked when the
subscriber was added, are not parsed again.
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from publisher.config import SmtpConfig
from publisher.delivery.client import NotSmtp, wire
from publisher.delivery.opening import ServerTrouble, open_connection
from publisher.delivery.replies import Kind, Reply, Step, Verdict, accepted, classify
from publisher.errors import AuthenticationError

if TYPE_CHECKING:
    from publisher.delivery import OutgoingMessage

log = logging.getLogger(__name__)


class Abandoned(Exception):
    """The session was told to stop before the message's data went out: nothing was sent."""


class _Again(Exception):
    """The connection went away before the message was delivered: safe to send it again.
    `reply`: the server's 421, when it said why; `step`: the command it answered."""

    def __init__(self, message: str, reply: Reply | None = None, step: Step = "message") -> None:
        super().__init__(message)
        self.reply = reply
        self.step = step


@dataclass(frozen=True)
class Attempt:
    """What became of one message handed to the server."""

    outcome: Literal["sent", "refused", "unknown"]
    verdict: Verdict | None = None
    detail: str = ""
    # A message in doubt for a reason of the server: this session is done, sending stops.
    trouble: ServerTrouble | None = None


_SENT = Attempt("sent")
_STEPS: dict[Step, str] = {
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
    "message": "a message's data",
}
_ACCEPTED = Verdict(Kind.ACCEPTED, "mail", Reply(250, "", "OK"))  # what callers read: the kind


class SmtpSender:
    """The SMTP server in `[delivery.smtp]`, with the password read from the environment."""

    def __init__(self, config: SmtpConfig, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.password = _password(config, environ)
        self.where = f"{config.host}:{config.port}"

    def session(self) -> Session:
        """A new session, connected on its first message."""
        return Session(self.config, self.password, self.where)


class Session:
    """One connection to the server, opened on the first message and reused for the rest."""

    def __init__(self, config: SmtpConfig, password: str, where: str) -> None:
        self.config = config
        self._password = password
        self.where = where
        self._smtp: smtplib.SMTP | None = None
        # The last message's data got no answer: if the next one's gets none either, the
        # server is at fault (it takes messages and drops the line), not one message.
        self._unanswered = False

    def send(self, message: OutgoingMessage, ready: Callable[[], bool] = lambda: True) -> Attempt:
        """Hand one message over. `ready()` is asked just before its data goes out; False
        abandons it (Abandoned), nothing sent. Raises ServerTrouble."""
        steps: list[str] = []  # where each try broke off
        for tries in (1, 2):
            if self._smtp is None:
                self._smtp = self._open()
            try:
                return self._transaction(self._smtp, message, ready)
            except _Again as e:
                self.close(polite=False)
                steps.append(e.step if e.reply is None else "closing")  # a 421 is for all
                if tries == 2:
                    raise ServerTrouble(
                        f"{self.where} closed the connection twice in a row ({e}): the "
                        "server may be overloaded or restarting; sending resumes after "
                        "[delivery] retry_after",
                        lasting=False,
                        reply=e.reply,
                        suspect=steps == ["rcpt", "rcpt"],  # no answer to its RCPT TO, twice
                    ) from e
                log.debug("%s dropped the connection (%s); reconnecting", self.where, e)
        raise AssertionError("unreachable")

    def close(self, *, polite: bool = True) -> None:
        """Say QUIT if the connection is still up (and `polite`), and forget it."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if polite:
            try:
                smtp.quit()
                return
            except (OSError, smtplib.SMTPException):
                pass
        smtp.close()

    def _open(self) -> smtplib.SMTP:
        return open_connection(self.config, self._password, self.where)

    # -- one message -------------------------------------------------------------------

    def _transaction(
        self, smtp: smtplib.SMTP, message: OutgoingMessage, ready: Callable[[], bool]
    ) -> Attempt:
        to = message.recipient
        verdict = self._ask(smtp, "mail", f"FROM:<{message.sender}>")
        if verdict.kind is not Kind.ACCEPTED:
            self._reset(smtp)
            raise self._sender_refused(message.sender, verdict)
        verdict = self._ask(smtp, "rcpt", f"TO:<{to}>")
        if verdict.kind is not Kind.ACCEPTED:
            self._reset(smtp)
            if verdict.kind is Kind.SERVER:
                raise self._about_us(verdict)
            return Attempt("refused", verdict)
        if not ready():
            self._reset(smtp)
            raise Abandoned
        verdict = self._ask(smtp, "data", "")
        if verdict.kind is not Kind.ACCEPTED:
            self._reset(smtp)
            if verdict.kind is Kind.SERVER:  # 530 a login first, 503 out of sequence...
                raise self._about_us(verdict)
            return Attempt("refused", verdict)
        try:
            smtp.send(wire(message.data))
        except smtplib.SMTPServerDisconnected as e:
            # The closing dot never went out whole: the server cannot have taken it.
            raise _Again(str(e)) from e
        try:
            code, text = smtp.getreply()
        except smtplib.SMTPServerDisconnected as e:
            self.close(polite=False)
            detail = f"no answer after the data ({_why(e)})"
            again, self._unanswered = self._unanswered, True
            trouble = unanswered_again(self.where, detail) if again else None
            return Attempt("unknown", detail=detail, trouble=trouble)
        except NotSmtp as e:
            # It may be the server's "250 ok" mangled, or its refusal: the message is in
            # doubt, and the next one would be too.
            self.close(polite=False)
            return Attempt(
                "unknown",
                detail=f"an answer after the data that is not SMTP ({e.said!r})",
                trouble=ServerTrouble(
                    f"{self.where} answered a message's data with {e}: the message may have "
                    "arrived and is left 'unknown'; sending stops, and resumes after "
                    "[delivery] retry_after",
                    lasting=False,
                ),
            )
        self._unanswered = False
        if accepted(code):
            return _SENT
        verdict = classify("message", Reply.parse(code, text))
        if verdict.kind is Kind.CLOSING:  # 421: refused, and the connection is going
            raise _Again(str(verdict.reply), verdict.reply)
        if verdict.kind is Kind.SERVER:
            raise self._about_us(verdict)
        return Attempt("refused", verdict)

    def _ask(self, smtp: smtplib.SMTP, step: Step, args: str) -> Verdict:
        """Send one command and sort its answer; _Again when the connection is gone or
        closing (nothing was delivered)."""
        try:
            smtp.putcmd(step, args)
            code, text = smtp.getreply()
        except smtplib.SMTPServerDisconnected as e:
            raise _Again(str(e), step=step) from e
        except NotSmtp as e:
            self.close(polite=False)
            raise ServerTrouble(
                f"{self.where} answered {_STEPS.get(step, step.upper())} with {e}: the "
                "server (or something between us, such as a proxy) is not speaking SMTP; "
                "nothing was sent, and sending resumes after [delivery] retry_after",
                lasting=False,
                suspect=step == "rcpt",
            ) from e
        if accepted(code):
            return _ACCEPTED
        verdict = classify(step, Reply.parse(code, text))
        if verdict.kind is Kind.CLOSING:
            raise _Again(str(verdict.reply), verdict.reply, step)
        return verdict

    def _about_us(self, verdict: Verdict) -> ServerTrouble:
        """The trouble to report when a step about one message (RCPT, DATA, the end of the
        data) got an answer about us or the session, not the reader: nothing was delivered."""
        reply = verdict.reply
        if reply.code == 530:
            return self._login_wanted(reply)
        step = _STEPS.get(verdict.step, verdict.step.upper())
        return ServerTrouble(
            f"{self.where} answered {step} with a refusal about us or the "
            f"session, not the reader ({reply}): check [delivery.smtp] username and security, "
            "and the newsletter's sender; every row stays pending",
            lasting=reply.permanent,
            reply=reply,
        )

    def _login_wanted(self, reply: Reply) -> ServerTrouble:
        return ServerTrouble(
            f"{self.where} wants a login (or TLS) before it takes mail ({reply}): set "
            "[delivery.smtp] username and password_env (and security)",
            lasting=True,
            reply=reply,
        )

    def _sender_refused(self, sender: str, verdict: Verdict) -> ServerTrouble:
        reply = verdict.reply
        if reply.code == 530:
            return self._login_wanted(reply)
        if reply.permanent:
            return ServerTrouble(
                f"{self.where} refused the sender {sender!r} ({reply}): check the "
                "newsletter's sender address and [delivery.smtp] username (a relay may take "
                "only its own addresses)",
                lasting=True,
                reply=reply,
            )
        return ServerTrouble(
            f"{self.where} deferred the sender {sender!r} ({reply}): sending resumes after "
            "[delivery] retry_after",
            lasting=False,
            reply=reply,
        )

    def _reset(self, smtp: smtplib.SMTP) -> None:
        try:
            code, _ = smtp.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self.close(polite=False)


def unanswered_again(where: str, detail: str) -> ServerTrouble:
    """The trouble when a second message in a row got `detail` (no answer after its data):
    each one sent now could arrive unrecorded, or be lost."""
    return ServerTrouble(
        f"{where}: {detail}, for a second message in a row: the server may be taking "
        "messages and then dropping or stalling the connection; those in doubt are left "
        "'unknown', the rest wait, and sending resumes after [delivery] retry_after",
        lasting=False,
    )


def _why(error: BaseException) -> str:
    text = str(error).removeprefix("Connection unexpectedly closed").removeprefix(": ")
    return text or "connection closed"


def _password(config: SmtpConfig, environ: Mapping[str, str]) -> str:
    """The SMTP password from the environment; checked before any message is sent."""
    if not config.username:
        return ""
    # The config refuses a username without password_env (SmtpConfig._password_named).
    password = environ.get(config.password_env)
    if not password:
        raise AuthenticationError(
            f"the environment variable {config.password_env} (named by [delivery.smtp] "
            f"password_env) is not set: export the SMTP password for {config.username!r} in it"
        )
    return password
