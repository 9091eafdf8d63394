"""smtplib, wrapped at one place: replies read strictly, and a message framed for DATA.

smtplib reads a line that is not an SMTP reply (an HTTP server's, a proxy's) as code -1
with its first four characters cut off, and a line longer than 8192 bytes as an
exception that looks like the server's own "500 Line too long."; our client classes raise
`NotSmtp` for both, with what the server said, so the session can tell the user (and,
after the data, knows the message may have arrived). A server that takes the connection
and never greets raises `NoGreeting`, not a "timed out" that reads as an outage.

The timeout is for a whole reply, not each line of it: a server that trickles
continuation lines ("250-still thinking" every few seconds), or sends more than
`REPLY_LINES` lines or `REPLY_BYTES` bytes, is read as one that timed out (and, after the
data, the message is in doubt), never for ever while the run holds its lock.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import smtplib
import time
from collections.abc import Callable
from typing import Any

_EOL = re.compile(rb"\r\n|\n|\r")

LINE_LIMIT = 8192
"""The longest reply line read, in bytes (smtplib's own limit)."""

REPLY_LINES = 100
"""The most lines a reply may have (real ones have a dozen at most)."""

REPLY_BYTES = 64 * 1024
"""The most bytes a reply may have."""

# "250 ok", "250-first of more", "354" alone: a code from 200 to 599, then a space, a
# dash or the end of the line.
_REPLY_LINE = re.compile(rb"[2-5][0-9][0-9](?:[ -]|\r?\n?$)")


class NotSmtp(smtplib.SMTPException):
    """The server answered with a line that is not an SMTP reply, or one too long to read.

    `said`: the start of that line, one printable line of text.
    """

    def __init__(self, said: str, *, too_long: bool = False) -> None:
        self.said = said
        self.too_long = too_long
        what = f"a reply line longer than {LINE_LIMIT} bytes" if too_long else "a line"
        super().__init__(f"{what} that is not an SMTP reply ({said!r})")


class NoGreeting(smtplib.SMTPException):
    """The server took the connection and said nothing before the timeout: an HTTP
    server, one that wants TLS at once, or one too busy to greet."""


class BadChallenge(smtplib.SMTPException):
    """The server's AUTH challenge (a 334 reply) is not base64. `said`: its start."""

    def __init__(self, said: str) -> None:
        self.said = said
        super().__init__(f"an AUTH challenge that is not base64 ({said!r})")


class _StrictReplies(smtplib.SMTP):
    _greeting_due = False  # connecting, and no line read yet

    def connect(
        self, host: str = "localhost", port: int = 0, source_address: Any = None
    ) -> tuple[int, bytes]:
        """smtplib's; a timeout waiting for the greeting raises NoGreeting."""
        self._greeting_due = True
        try:
            return super().connect(host, port, source_address)
        finally:
            self._greeting_due = False

    def getreply(self) -> tuple[int, bytes]:
        """smtplib's (code, text), every line of a reply joined; NotSmtp for a line that is
        not a reply, SMTPServerDisconnected when the connection is gone, or when the whole
        reply took longer than the timeout or was too long (`REPLY_LINES`, `REPLY_BYTES`)."""
        lines: list[bytes] = []
        size = 0
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                if self.file is None:
                    assert self.sock is not None
                    self.file = self.sock.makefile("rb")
                line = self._line(deadline)
                if not line:
                    self.close()
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                self._greeting_due = False
                if len(line) > LINE_LIMIT or not _REPLY_LINE.match(line):
                    self.close()
                    raise NotSmtp(_shown(line), too_long=len(line) > LINE_LIMIT)
                lines.append(line[4:].strip(b" \t\r\n"))
                if line[3:4] != b"-":
                    return int(line[:3]), b"\n".join(lines)
                size += len(line)
                if len(lines) >= REPLY_LINES or size > REPLY_BYTES:
                    self.close()
                    raise smtplib.SMTPServerDisconnected(
                        f"timed out (a reply of more than {REPLY_LINES} lines or "
                        f"{REPLY_BYTES // 1024} KiB)"
                    )
        finally:
            if self.sock is not None:
                self.sock.settimeout(timeout)

    def _line(self, deadline: float | None) -> bytes:
        """The next line, read before `deadline` (a monotonic time) or not at all."""
        assert self.file is not None
        try:
            if deadline is not None and self.sock is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                self.sock.settimeout(left)
            line: bytes = self.file.readline(LINE_LIMIT + 1)
        except OSError as e:
            self.close()
            if self._greeting_due and isinstance(e, TimeoutError):
                raise NoGreeting(str(e)) from e
            raise smtplib.SMTPServerDisconnected(f"Connection unexpectedly closed: {e}") from e
        return line

    def auth(
        self,
        mechanism: str,
        authobject: Callable[..., str | None],
        *,
        initial_response_ok: bool = True,
    ) -> tuple[int, bytes]:
        """smtplib's, with the credentials sent as UTF-8 (RFC 4616; smtplib's ASCII fails
        on a password such as 'pässwort'), and BadChallenge for a challenge not base64."""
        mechanism = mechanism.upper()
        initial = authobject() if initial_response_ok else None
        if initial is not None:
            code, resp = self.docmd("AUTH", f"{mechanism} {_b64(initial)}")
            self._auth_challenge_count = 1
        else:
            code, resp = self.docmd("AUTH", mechanism)
            self._auth_challenge_count = 0
        while code == 334:
            self._auth_challenge_count += 1
            try:
                challenge = base64.b64decode(resp, validate=True)
            except binascii.Error as e:
                raise BadChallenge(_shown(resp)) from e
            code, resp = self.docmd(_b64(authobject(challenge) or ""))
            if self._auth_challenge_count > 5:
                raise smtplib.SMTPAuthenticationError(code, resp)
        if code in (235, 503):
            return code, resp
        raise smtplib.SMTPAuthenticationError(code, resp)

    def auth_cram_md5(self, challenge: bytes | None = None) -> str | None:  # type: ignore[override]
        """smtplib's, with the password as UTF-8."""
        if challenge is None:
            return None
        digest = hmac.HMAC(self.password.encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self.user} {digest}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class Client(_StrictReplies, smtplib.SMTP):
    """A plain (or STARTTLS) connection whose replies are read strictly."""


class SslClient(_StrictReplies, smtplib.SMTP_SSL):
    """A connection in TLS from the start whose replies are read strictly."""


def wire(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, dot-stuffed, with the closing dot."""
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        data = _EOL.sub(b"\r\n", data)  # rare: our messages are built with CRLF
    if data.startswith(b"."):
        data = b"." + data
    if b"\r\n." in data:  # never in base64 bodies; a header or a plain text line could
        data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _shown(line: bytes, limit: int = 60) -> str:
    """The start of a line as a message quotes it: printable, at most `limit` characters."""
    text = line.decode("utf-8", "replace")
    text = "".join(c for c in " ".join(text.split()) if c.isprintable())
    return text if len(text) <= limit else text[: limit - 1] + "…"
