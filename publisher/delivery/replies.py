"""What an SMTP server's answer means for us: one table, read by the sender and the journal writer.

Every reply is sorted by the step it answered (the greeting, EHLO, STARTTLS, AUTH, MAIL
FROM, RCPT TO, the DATA command, the message itself) and its codes: the RFC 5321 reply
code and, when the server gives one, the RFC 3463 enhanced status code ("5.1.1" at the
start of the text, or "(#5.1.1)" at its end as qmail writes it).

    Kind        what it means                          what happens
    ACCEPTED    the step went through                  go on
    HARD        this address is gone for good          the row bounces, the reader too
    SOFT        the mailbox cannot take mail (full)    the row bounces; the reader after
                                                       [delivery] soft_bounce_limit in a row
    REFUSED     this message is refused for good       the row fails, the reader stays
    POLICY      refused by a policy that may be about  nobody bounces; the row is tried
                us (relaying, the sender, reputation)  again later like a 4xx
    TEMPORARY   try this recipient again later (4xx)   the row waits its own backoff
    CLOSING     421: the server is closing this link   reopen it, try the message again
    SERVER      the server, the sender or a setting    stop sending for this run

A refusal of one recipient never stops a run on its own, and a permanent refusal is held
by the journal writer until a later answer tells whose fault it was: when
`[delivery] stop_after_same_refusals` different recipients in a row get the same answer,
the fault is the server's (a relay refusing everyone, a wrong host) and nobody is marked
bounced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

Step = Literal["connect", "helo", "starttls", "auth", "mail", "rcpt", "data", "message"]

# The steps before any recipient is named: whatever goes wrong there is about the server,
# the connection, our settings or the sender address, never about one reader.
_SESSION_STEPS = frozenset({"connect", "helo", "starttls", "auth", "mail"})

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
# qmail and its kin give the enhanced code at the end: "... rcpthosts (#5.7.1)".
_ENHANCED_AT_END = re.compile(r"\(#([245])\.(\d{1,3})\.(\d{1,3})\)$")


class Kind(Enum):
    """What a reply means for the message and the reader (see the module's table)."""

    ACCEPTED = "accepted"
    HARD = "hard"
    SOFT = "soft"
    REFUSED = "refused"
    POLICY = "policy"
    TEMPORARY = "temporary"
    CLOSING = "closing"
    SERVER = "server"


@dataclass(frozen=True)
class Reply:
    """One answer as the server gave it: its code, its enhanced code ('' if none), its text
    on one line."""

    code: int
    enhanced: str
    text: str

    @classmethod
    def parse(cls, code: int, text: bytes | str) -> Reply:
        """A reply from smtplib's (code, text); the text is made one printable line."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        text = "".join(c for c in " ".join(text.split()) if c.isprintable())
        match = _ENHANCED.match(text) or _ENHANCED_AT_END.search(text)
        return cls(code, ".".join(match.groups()) if match else "", text)

    @property
    def permanent(self) -> bool:
        """A 5xx: the same request will get the same answer."""
        return 500 <= self.code < 600

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


@dataclass(frozen=True)
class Verdict:
    """A reply, the step it answered, and what it means."""

    kind: Kind
    step: Step
    reply: Reply

    @property
    def key(self) -> tuple[str, int, str]:
        """What makes two refusals "the same answer": the step and both codes (the text
        often names the address, so it differs from one reader to the next)."""
        return (self.step, self.reply.code, self.reply.enhanced)


def classify(step: Step, reply: Reply) -> Verdict:
    """What `reply`, answering `step`, means."""
    return Verdict(_kind(step, reply), step, reply)


def accepted(code: int) -> bool:
    """Whether a reply code says the step went through (the common case, told at once)."""
    return 200 <= code < 400


def steady(text: str, reply: Reply | None = None) -> str:
    """`text`, a message of ours that may quote `reply`, as it reads every time the same
    problem comes back: the server's free text in the reply (where big providers put a
    host, a time and a session id, different in every answer) left out for its codes,
    and addresses, queue ids and long numbers elsewhere blanked."""
    if reply is not None and reply.text:
        text = text.replace(str(reply), f"{reply.code} {reply.enhanced}".strip())
    text = _ADDRESS.sub("<address>", text)
    return _VARYING.sub("#", text)


_ADDRESS = re.compile(r"[^\s<>()\[\]'\",;:]+@[^\s<>()\[\]'\",;:]+")
# A word of letters and digits both (4Y1x2ZqR, 1sJK2L-0003Ab-Qx), or of 4 digits or more.
_VARYING = re.compile(r"(?<![\w.-])(?:(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{5,}|\d{4,})(?![\w-])")


def _kind(step: Step, reply: Reply) -> Kind:
    code = reply.code
    if 200 <= code < 400:
        return Kind.ACCEPTED
    if code == 421:
        return Kind.CLOSING
    if step == "rcpt" and code == 501 and _bad_address(reply):
        # 501 5.1.3 "bad recipient address syntax", or a bare 501 (Exim's "malformed
        # address"): the one argument of RCPT is that address, not the server's trouble.
        return Kind.HARD
    if step in _SESSION_STEPS or code in (530, 534, 535, 538):
        return Kind.SERVER  # 530/535: login needed or refused
    if step != "rcpt" and 500 <= code <= 504:
        # The server did not understand us. At RCPT it is about that address (read on by
        # its codes): a server that says so to everyone is caught by the same refusals in
        # a row, and one odd address must not stop every run.
        return Kind.SERVER
    if not reply.permanent:
        return Kind.TEMPORARY
    if "relay" in reply.text.lower():
        return Kind.POLICY  # "relaying denied", "Relay access denied": about us, never them
    subject, detail = _enhanced(reply)
    if subject is None:
        return _by_basic_code(step, code)
    if subject == 1:  # addressing
        return Kind.SERVER if detail in (7, 8) else Kind.HARD  # 5.1.7/5.1.8: our sender
    if subject == 2:  # mailbox: disabled; full; message too long
        # 5.2.0 (the mailbox exists, something else is wrong) and 5.2.4 (a list's
        # expansion failed) say nothing of the address being gone: nobody is bounced.
        return {1: Kind.HARD, 2: Kind.SOFT, 3: Kind.REFUSED}.get(detail, Kind.POLICY)
    if subject == 3:  # mail system
        return Kind.REFUSED if detail == 4 else Kind.POLICY  # too big; the system's trouble
    if subject == 6:  # content
        return Kind.REFUSED
    if subject == 7 and step == "message":
        return Kind.REFUSED  # after the data, a policy answer is about this message
    return Kind.POLICY  # 5.4.x routing, 5.5.x protocol, 5.7.x security and policy


def _bad_address(reply: Reply) -> bool:
    """A 5.1.x enhanced code about the recipient's address (5.1.7/5.1.8 are the sender's),
    or no enhanced code to say otherwise."""
    subject, detail = _enhanced(reply)
    return subject is None or (subject == 1 and detail not in (7, 8))


def _enhanced(reply: Reply) -> tuple[int | None, int]:
    """(subject, detail) of the enhanced code, or (None, 0) when it tells nothing (none, or
    x.0.0, or a class that contradicts the reply code)."""
    if not reply.enhanced:
        return None, 0
    klass, subject, detail = (int(part) for part in reply.enhanced.split("."))
    if klass != reply.code // 100 or (subject, detail) == (0, 0):
        return None, 0
    return subject, detail


def _by_basic_code(step: Step, code: int) -> Kind:
    """A permanent reply with no enhanced code to go by (RFC 5321 section 4.2.3)."""
    if step == "rcpt":
        # 550 mailbox unavailable, 551 not local, 553 name not allowed, 556 domain takes
        # no mail (RFC 7504); 552 storage exceeded; 554 could be anything.
        return {550: Kind.HARD, 551: Kind.HARD, 553: Kind.HARD, 556: Kind.HARD}.get(
            code, Kind.SOFT if code == 552 else Kind.POLICY
        )
    return Kind.REFUSED  # after DATA: this message was refused
