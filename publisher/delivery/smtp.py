"""Hand messages to an SMTP server over one connection, reopened when the server drops it.

Every answer is sorted into what the caller must do next:

- accepted: mark the message sent;
- `RecipientRefused` (5xx to RCPT TO): that address is gone for good, the list goes on;
- `MessageRefused` (5xx after the message was sent): give up on this one message;
- `TemporaryFailure` (4xx, connection refused, timeout, connection lost): try later;
- `AuthenticationError` or a plain `DeliveryError`: a setting is wrong, stop.

A connection lost before the message body was sent is reopened and the message tried once
more at once; lost while the body was on its way, it may have arrived, so it is left to
the next run (the one duplicate an interrupted send can cause).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from publisher.config import SmtpConfig
from publisher.errors import AuthenticationError, DeliveryError

if TYPE_CHECKING:
    from publisher.delivery import OutgoingMessage

log = logging.getLogger(__name__)


class TemporaryFailure(DeliveryError):
    """Not delivered now, may be later. `connection`: the server, not this message, failed."""

    def __init__(self, message: str, reply: str, *, connection: bool) -> None:
        super().__init__(message)
        self.reply = reply
        self.connection = connection


class RecipientRefused(DeliveryError):
    """The server refused this recipient for good (5xx to RCPT TO)."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class MessageRefused(DeliveryError):
    """The server refused this message's content for good (5xx after DATA)."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class _Dropped(Exception):
    """The connection went away before the message body was sent: safe to try again."""


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = "".join(c for c in " ".join(text.split()) if c.isprintable())
    return f"{code} {text}".strip()


class SmtpSender:
    """One SMTP connection, opened on the first message and reused for the rest."""

    def __init__(self, config: SmtpConfig, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self._password = _password(config, environ)
        self._smtp: smtplib.SMTP | None = None
        self._interval = 1.0 / config.rate if config.rate else 0.0
        self._next_at = 0.0
        self.where = f"{config.host}:{config.port}"

    def send(self, message: OutgoingMessage) -> None:
        """Hand one message over; returns only once the server has accepted it."""
        self._pace()
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._transact(self._smtp, message)
        except _Dropped:
            log.debug("%s dropped the connection; reconnecting", self.where)
            self.close()
            self._smtp = self._connect()
            try:
                self._transact(self._smtp, message)
            except _Dropped as e:
                self.close()
                raise TemporaryFailure(
                    f"{self.where} closed the connection twice in a row", str(e), connection=True
                ) from e

    def close(self) -> None:
        """Say QUIT if the connection is still up, and forget it."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _pace(self) -> None:
        # `rate` caps messages per second; a monotonic clock, as wall time may jump.
        if not self._interval:
            return
        now = time.monotonic()
        if now < self._next_at:
            time.sleep(self._next_at - now)
            now = self._next_at
        self._next_at = now + self._interval

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        timeout = c.timeout.total_seconds()
        smtp: smtplib.SMTP | None = None
        try:
            if c.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=timeout)
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if c.username:
                smtp.login(c.username, self._password)
        except smtplib.SMTPAuthenticationError as e:
            _close(smtp)
            raise AuthenticationError(
                f"{self.where} refused the login ({_reply(e.smtp_code, e.smtp_error)}): check "
                f"[delivery.smtp] username ({c.username!r}) and the password in the "
                f"environment variable {c.password_env}"
            ) from e
        except smtplib.SMTPNotSupportedError as e:
            _close(smtp)
            what = "STARTTLS" if "STARTTLS" in str(e) else "AUTH"
            raise DeliveryError(
                f"{self.where} does not offer {what}: check [delivery.smtp] security "
                f"({c.security!r}) and username ({c.username!r})"
            ) from e
        except smtplib.SMTPResponseException as e:
            _close(smtp)
            reply = _reply(e.smtp_code, e.smtp_error)
            if 500 <= e.smtp_code < 600:
                raise DeliveryError(
                    f"{self.where} refused the connection ({reply}): check [delivery.smtp] "
                    "host, port and security"
                ) from e
            raise TemporaryFailure(
                f"{self.where} is not accepting mail now ({reply})", reply, connection=True
            ) from e
        except ssl.SSLCertVerificationError as e:
            _close(smtp)
            raise DeliveryError(
                f"{self.where}: the server's certificate is not trusted ({e.verify_message}): "
                "check [delivery.smtp] host (it must be the name on the certificate) and "
                "security"
            ) from e
        except (OSError, smtplib.SMTPException) as e:
            _close(smtp)
            raise TemporaryFailure(
                f"cannot connect to {self.where} ({e or type(e).__name__}): check "
                "[delivery.smtp] host and port, or wait for the server",
                str(e),
                connection=True,
            ) from e
        return smtp

    def _transact(self, smtp: smtplib.SMTP, message: OutgoingMessage) -> None:
        to = message.recipient
        try:
            code, text = smtp.mail(message.sender)
            if code == 421:
                raise _Dropped(_reply(code, text))
            if code != 250:
                _rset(smtp)
                reply = _reply(code, text)
                if code >= 500:
                    raise DeliveryError(
                        f"{self.where} refused the sender {message.sender!r} ({reply}): check "
                        "the newsletter's sender address and the server's policy"
                    )
                raise TemporaryFailure(
                    f"{self.where} deferred the sender ({reply})", reply, connection=False
                )
            code, text = smtp.rcpt(to)
            if code == 421:
                raise _Dropped(_reply(code, text))
            if code not in (250, 251):
                _rset(smtp)
                reply = _reply(code, text)
                if code >= 500:
                    raise RecipientRefused(f"{self.where} refused {to!r} ({reply})", reply)
                raise TemporaryFailure(
                    f"{self.where} deferred {to!r} ({reply})", reply, connection=False
                )
        except smtplib.SMTPServerDisconnected as e:
            raise _Dropped(str(e)) from e
        try:
            code, text = smtp.data(message.data)
        except smtplib.SMTPDataError as e:  # refused the DATA command itself: nothing sent
            _rset(smtp)
            reply = _reply(e.smtp_code, e.smtp_error)
            if e.smtp_code >= 500:
                raise MessageRefused(
                    f"{self.where} refused the message to {to!r} ({reply})", reply
                ) from e
            raise TemporaryFailure(
                f"{self.where} deferred the message to {to!r} ({reply})", reply, connection=False
            ) from e
        except (OSError, smtplib.SMTPServerDisconnected) as e:
            self.close()
            raise TemporaryFailure(
                f"lost the connection to {self.where} while sending to {to!r} ({e})",
                str(e),
                connection=True,
            ) from e
        if code == 250:
            return
        reply = _reply(code, text)
        if code >= 500:
            raise MessageRefused(f"{self.where} refused the message to {to!r} ({reply})", reply)
        raise TemporaryFailure(
            f"{self.where} deferred the message to {to!r} ({reply})",
            reply,
            connection=code == 421,
        )


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


def _rset(smtp: smtplib.SMTP) -> None:
    try:
        smtp.rset()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()
