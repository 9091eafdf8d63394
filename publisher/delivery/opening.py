"""Opening a session with the SMTP server, and `ServerTrouble`: every way that fails.

A connection is made, greeted (EHLO, or HELO), put in TLS and logged in as
`[delivery.smtp]` says; whatever goes wrong on the way is about the server, the network or
a setting, never one message, and is told as one `ServerTrouble` naming what to check.
"""

from __future__ import annotations

import smtplib
import ssl

from publisher.config import SmtpConfig
from publisher.delivery.client import BadChallenge, Client, NoGreeting, NotSmtp, SslClient
from publisher.delivery.replies import Reply, Step, Verdict, classify, steady
from publisher.errors import DeliveryError, Problem


class ServerTrouble(DeliveryError):
    """The server, the connection or a setting failed, not one message.

    `lasting`: nothing changes until a setting or the server does (a 5xx, a refused login);
    otherwise it may pass on its own (the server down or busy, a timeout). `reply`: the
    server's answer the message quotes, if any: the problem is the same next time when
    our message and the reply's codes are, whatever free text the server adds.
    `suspect`: it came at the message's RCPT TO, so it may be about that one reader (an
    address the server chokes on): that row is tried after the others.
    """

    def __init__(
        self, message: str, *, lasting: bool, reply: Reply | None = None, suspect: bool = False
    ) -> None:
        super().__init__(message)
        self.lasting = lasting
        self.same_as = steady(message, reply)
        self.suspect = suspect

    def problem(self, where: str) -> Problem:
        """The problem to report, about the settings `where`."""
        return Problem(
            where, str(self), warning=not self.lasting, same_as=f"{where}: {self.same_as}"
        )


def open_connection(c: SmtpConfig, password: str, where: str) -> smtplib.SMTP:
    """A connection to the server, greeted, in TLS and logged in as `c` says; ServerTrouble
    for every way that fails."""
    timeout = c.timeout.total_seconds()
    smtp: smtplib.SMTP | None = None
    try:
        if c.security == "ssl":
            context = ssl.create_default_context()
            smtp = SslClient(c.host, c.port, timeout=timeout, context=context)
        else:
            smtp = Client(c.host, c.port, timeout=timeout)
        _hello(smtp, where)
        if c.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
            _hello(smtp, where)
        if c.username:
            smtp.login(c.username, password)
    except ServerTrouble:
        _close(smtp)
        raise
    except NoGreeting as e:
        _close(smtp)
        raise ServerTrouble(
            f"the server at {where} took the connection and said nothing within "
            f"[delivery.smtp] timeout ({timeout:g}s): it may not be an SMTP server (an "
            "HTTP server; one that wants TLS at once, security = 'ssl'), or it is "
            "overloaded: check [delivery.smtp] host, port and security; sending resumes "
            "after [delivery] retry_after",
            lasting=False,
        ) from e
    except NotSmtp as e:
        _close(smtp)
        said = f"it said {e.said!r}" + (", a line too long to read" if e.too_long else "")
        raise ServerTrouble(
            f"the server at {where} did not answer as an SMTP server ({said}): check "
            "[delivery.smtp] host and port (and security)",
            lasting=True,
        ) from e
    except smtplib.SMTPAuthenticationError as e:
        _close(smtp)
        reply = Reply.parse(e.smtp_code, e.smtp_error)
        raise ServerTrouble(
            f"{where} refused the login ({reply}): "
            f"check [delivery.smtp] username ({c.username!r}) and the password in the "
            f"environment variable {c.password_env}",
            lasting=e.smtp_code >= 500,  # 454: the server's login service is down for now
            reply=reply,
        ) from e
    except smtplib.SMTPNotSupportedError as e:
        _close(smtp)
        what = "STARTTLS" if "STARTTLS" in str(e) else "AUTH"
        raise ServerTrouble(
            f"{where} does not offer {what}: check [delivery.smtp] security "
            f"({c.security!r}) and username ({c.username!r})",
            lasting=True,
        ) from e
    except smtplib.SMTPResponseException as e:
        _close(smtp)
        step: Step = "starttls" if smtp is not None and c.security == "starttls" else "connect"
        raise _refused(where, classify(step, Reply.parse(e.smtp_code, e.smtp_error))) from e
    except ssl.SSLCertVerificationError as e:
        _close(smtp)
        raise ServerTrouble(
            f"{where}: the server's certificate is not trusted ({e.verify_message}): "
            "check [delivery.smtp] host (it must be the name on the certificate) and "
            "security",
            lasting=True,
        ) from e
    except BadChallenge as e:
        _close(smtp)
        raise ServerTrouble(
            f"{where} answered the login with {e}: check [delivery.smtp] host, port and "
            "security (is it an SMTP server?)",
            lasting=True,
        ) from e
    except UnicodeError as e:  # a name our client cannot write; never quote the password
        _close(smtp)
        raise ServerTrouble(
            f"cannot log in to {where}: [delivery.smtp] username or the password in "
            f"{c.password_env} holds a character that cannot be sent: check both",
            lasting=True,
        ) from e
    except (OSError, smtplib.SMTPException) as e:
        _close(smtp)
        raise _failed(e, c, where, smtp) from e
    return smtp


def _failed(
    e: OSError | smtplib.SMTPException, c: SmtpConfig, where: str, smtp: smtplib.SMTP | None
) -> ServerTrouble:
    """The trouble when the connection, TLS or the login failed in another way."""
    if isinstance(e, ssl.SSLError) and not isinstance(e, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return ServerTrouble(
            f"the TLS handshake with {where} failed ({e.reason or type(e).__name__}): check "
            f"[delivery.smtp] security ({c.security!r}) and port ({c.port}): 'ssl' is for a "
            "port that speaks TLS at once (465), 'starttls' for one that starts plain (587)",
            lasting=True,
        )
    if smtp is not None and str(e).startswith("No suitable authentication method"):
        offered = smtp.esmtp_features.get("auth", "").strip() or "none"
        return ServerTrouble(
            f"{where} offers no login method publisher can use (it offers {offered}; "
            "publisher logs in with PLAIN, LOGIN or CRAM-MD5): check [delivery.smtp] host "
            "and username, or use the provider's relay that takes a password (an app "
            "password)",
            lasting=True,
        )
    return ServerTrouble(
        f"cannot connect to {where} ({e or type(e).__name__}): check "
        "[delivery.smtp] host and port, or wait for the server; sending resumes "
        "after [delivery] retry_after",
        lasting=False,
    )


def _hello(smtp: smtplib.SMTP, where: str) -> None:
    code, text = smtp.ehlo()
    if code != 250:
        code, text = smtp.helo()
    if code != 250:
        raise _refused(where, classify("helo", Reply.parse(code, text)))


def _refused(where: str, verdict: Verdict) -> ServerTrouble:
    """The trouble to report when the server refused to open a session."""
    reply = verdict.reply
    if reply.permanent:
        return ServerTrouble(
            f"{where} refused the session at {verdict.step.upper()} ({reply}): check "
            "[delivery.smtp] host, port and security",
            lasting=True,
            reply=reply,
        )
    return ServerTrouble(
        f"{where} is not accepting mail now ({reply}): sending resumes after "
        "[delivery] retry_after",
        lasting=False,
        reply=reply,
    )


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()
