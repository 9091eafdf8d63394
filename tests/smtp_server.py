"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd in a thread, answering on demand.

    with SmtpServer() as server:
        server.refuse("gone@example.com", "550 5.1.1 no such user")
        server.answer_next(1, "451 4.3.0 try again later")
        ...send to 127.0.0.1:server.port...
        server.messages            # every message that arrived, in order

`refuse_sender` answers every MAIL FROM, `answer_data_command` every DATA command. Per
recipient: `refuse` answers its RCPT TO, `refuse_everyone` every other RCPT TO,
`answer_data` the end of its data,
`hang_after_data` never answers its data (the message has arrived), `drop_after_data`
closes the connection instead (it has arrived too), `drop_mid_data`
closes the connection halfway through its data (it has not). Per message: `hold_at(n)`
keeps the n-th message's answer back until `release()` (the message has arrived; the
sender has not heard so), to stop a sender at a known point; `hang_up_at_mail(n)`
answers the n-th MAIL FROM with 421 and closes the connection; `drop_at(n)` closes it
instead of answering the n-th message. Per connection: `greet(reply)` answers every new
connection with `reply` and closes it; `delay` waits before every reply (a server far
away); `session_limit` turns away (421) connections beyond that many at once, counting
them in `turned_away`; `most_sessions` is the most connections that were open at once.
`password` turns on AUTH LOGIN/PLAIN. `stop()` and `start()` make the server go away and
come back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd cannot bind port 0 and say which it got)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_cert(folder: Path) -> Path:
    """A PEM file with a key and a certificate for 127.0.0.1 (made by the openssl command)."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    both = folder / "server.pem"
    both.write_bytes(key.read_bytes() + cert.read_bytes())
    return both


@dataclass(frozen=True)
class Arrival:
    """One message as the server received it."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes

    def parse(self) -> EmailMessage:
        """The message parsed by the stdlib (modern policy: headers decoded)."""
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class _Smtp(SMTP):
    """aiosmtpd's session, with the test server's say on greetings, delays and DATA."""

    def __init__(self, handler: Any, owner: SmtpServer, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.owner = owner

    async def _handle_client(self) -> None:
        self.owner._opened(+1)
        try:
            greeting = self.owner._greeting_for_this_one()
            if greeting:
                await self.push(greeting)
                assert self.transport is not None
                self.transport.close()
                return
            await super()._handle_client()
        finally:
            self.owner._opened(-1)

    async def push(self, status: Any) -> None:
        if self.owner.delay:
            await asyncio.sleep(self.owner.delay)
        await super().push(status)

    async def smtp_DATA(self, arg: str) -> None:
        refused = self.owner._data_command_reply()
        if refused:
            await self.push(refused)
            return
        rcpt_tos = self.envelope.rcpt_tos if self.envelope is not None else []
        if any(self.owner._drops_mid_data(a) for a in rcpt_tos):
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")  # the first line of the message, no more
            assert self.transport is not None
            self.transport.close()
            return
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def __init__(self, owner: SmtpServer, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.owner = owner

    def factory(self) -> _Smtp:
        return _Smtp(self.handler, self.owner, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        reply = self.server._rcpt_reply(address)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        refused = self.server._mail_reply()
        if refused:
            return refused
        if self.server._mail_closes():
            # 421 then hang up, as a server does at its per-connection limit
            server.loop.call_soon(server.transport.close)
            return "421 4.7.0 too many messages on one connection"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self.server._data_reply(server, envelope)


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`, recording arrivals and answering as told."""

    def __init__(
        self, *, username: str = "", password: str = "", tls: str = "", cert: Path | None = None
    ) -> None:
        """`tls`: '' (plain), 'starttls' (offered and required) or 'ssl' (from the start),
        with `cert` a PEM file holding the certificate and its key."""
        self.port = free_port()
        self.tls = tls
        self.cert = cert
        self.username = username
        self.password = password
        self._lock = threading.Condition()
        self._arrivals: list[Arrival] = []
        self._refused: dict[str, str] = {}
        self._deferred: list[str] = []
        self._hold_at = 0
        self._released = threading.Event()
        self._drop_at = 0
        self._mails = 0
        self._hang_up_at: set[int] = set()
        self._everyone = ""
        self._data_replies: dict[str, str] = {}
        self._arriving: set[str] = set()
        self._hang_after_data: set[str] = set()
        self._trickle_after_data: set[str] = set()
        self._drop_after_data: set[str] = set()
        self._drop_mid_data: set[str] = set()
        self._greeting = ""
        self._sender_refused = ""
        self._data_command = ""
        self.delay = 0.0
        self.session_limit = 0
        self.turned_away = 0
        self._sessions = 0
        self.most_sessions = 0
        self.logins: list[tuple[str, bool]] = []
        # The answer to a wrong login, "{n}" replaced by the login's number (as big
        # providers quote a session id); '' for aiosmtpd's own.
        self.login_refusal = ""
        self._controller: Controller | None = None

    # -- running ------------------------------------------------------------------------

    def start(self) -> SmtpServer:
        """Listen (again) on `port`."""
        kwargs: dict[str, Any] = {}
        if self.password:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        if self.tls:
            assert self.cert is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert)
            if self.tls == "ssl":
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        self._controller = _Controller(
            self,
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="smtp.test",
            ready_timeout=10,
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Go away: close the listening socket and every open connection."""
        self._released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what to answer -----------------------------------------------------------------

    def refuse(self, address: str, reply: str = "550 5.1.1 no such user") -> None:
        """Answer RCPT TO for this address with `reply` (a 5xx or 4xx line)."""
        with self._lock:
            self._refused[address.lower()] = reply

    def answer_next(self, count: int, reply: str = "451 4.3.0 try again later") -> None:
        """Answer the next `count` messages with `reply` (a 4xx or 5xx) after DATA; those
        messages are not recorded as arrived."""
        with self._lock:
            self._deferred.extend([reply] * count)

    def hold_at(self, n: int) -> None:
        """Record the n-th message (counting from 1) but answer it only after `release()`."""
        with self._lock:
            self._hold_at = n
            self._released.clear()

    def release(self) -> None:
        """Let a held answer go."""
        self._released.set()

    def drop_at(self, n: int) -> None:
        """Close the connection instead of answering the n-th message (it counts as arrived)."""
        with self._lock:
            self._drop_at = n

    def refuse_everyone(self, reply: str) -> None:
        """Answer RCPT TO for every address not given its own answer with `reply`, where
        '{address}' stands for the address refused."""
        with self._lock:
            self._everyone = reply

    def answer_data(self, address: str, reply: str, *, arrived: bool = False) -> None:
        """Answer the end of the data of each message to `address` with `reply` (a 4xx or
        5xx, or any line at all; '' to accept again); such messages are recorded as arrived
        only if `arrived` (the server took it, and its answer is garbled)."""
        with self._lock:
            if reply:
                self._data_replies[address.lower()] = reply
                if arrived:
                    self._arriving.add(address.lower())
            else:
                self._data_replies.pop(address.lower(), None)
                self._arriving.discard(address.lower())

    def answer_data_command(self, reply: str) -> None:
        """Answer every DATA command with `reply` (the data is never asked for); '' to ask
        for it again."""
        with self._lock:
            self._data_command = reply

    def hang_after_data(self, address: str) -> None:
        """Record each message to `address` ('*': to anyone) as arrived, and never answer
        its data."""
        with self._lock:
            self._hang_after_data.add(address.lower())

    def trickle_after_data(self, address: str) -> None:
        """Record each message to `address` ('*': to anyone) as arrived, and answer its data
        with "250-still thinking" lines, one every tenth of a second, never ending."""
        with self._lock:
            self._trickle_after_data.add(address.lower())

    def drop_after_data(self, address: str) -> None:
        """Record each message to `address` ('*': to anyone) as arrived, and close the
        connection instead of answering its data."""
        with self._lock:
            self._drop_after_data.add(address.lower())

    def drop_mid_data(self, address: str, *, on: bool = True) -> None:
        """Close the connection halfway through the data of each message to `address` (it
        does not arrive); `on=False` to stop."""
        with self._lock:
            if on:
                self._drop_mid_data.add(address.lower())
            else:
                self._drop_mid_data.discard(address.lower())

    def refuse_sender(self, reply: str) -> None:
        """Answer every MAIL FROM with `reply` ('' to accept again)."""
        with self._lock:
            self._sender_refused = reply

    def greet(self, reply: str) -> None:
        """Answer every new connection with `reply` (such as a 421) and close it; '' to
        greet as usual again."""
        with self._lock:
            self._greeting = reply

    def hang_up_at_mail(self, *numbers: int) -> None:
        """Answer these MAIL FROM commands (counting from 1) with 421 and close."""
        with self._lock:
            self._hang_up_at.update(numbers)

    # -- what arrived -------------------------------------------------------------------

    @property
    def messages(self) -> list[Arrival]:
        """Every message recorded so far, in order."""
        with self._lock:
            return list(self._arrivals)

    def recipients(self) -> list[str]:
        """The recipient of every arrival, in order (one per message)."""
        return [r for a in self.messages for r in a.recipients]

    def wait_for(self, count: int, timeout: float = 30) -> list[Arrival]:
        """Block until at least `count` messages arrived; AssertionError after `timeout`."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._arrivals) >= count, timeout):
                raise AssertionError(f"only {len(self._arrivals)} of {count} messages arrived")
            return list(self._arrivals)

    # -- inside the server thread -------------------------------------------------------

    def _mail_closes(self) -> bool:
        with self._lock:
            self._mails += 1
            return self._mails in self._hang_up_at

    def _greeting_for_this_one(self) -> str:
        with self._lock:
            if self._greeting:
                return self._greeting
            if self.session_limit and self._sessions > self.session_limit:
                self.turned_away += 1
                return "421 4.7.0 too many connections from your address"
            return ""

    def _opened(self, change: int) -> None:
        with self._lock:
            self._sessions += change
            self.most_sessions = max(self.most_sessions, self._sessions)

    def _mail_reply(self) -> str:
        with self._lock:
            return self._sender_refused

    def _data_command_reply(self) -> str:
        with self._lock:
            return self._data_command

    def _drops_mid_data(self, address: str) -> bool:
        with self._lock:
            return address.lower() in self._drop_mid_data

    def _rcpt_reply(self, address: str) -> str:
        with self._lock:
            reply = self._refused.get(address.lower(), self._everyone or "250 OK")
        return reply.replace("{address}", address)

    async def _data_reply(self, server: Any, envelope: Any) -> str:
        (to,) = (a.lower() for a in envelope.rcpt_tos)
        with self._lock:
            if self._deferred:
                return self._deferred.pop(0)
            arrival = Arrival(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            if to in self._data_replies:
                if to in self._arriving:
                    self._arrivals.append(arrival)
                    self._lock.notify_all()
                return self._data_replies[to]
            self._arrivals.append(arrival)
            count = len(self._arrivals)
            self._lock.notify_all()
            hold = count == self._hold_at
            drop = count == self._drop_at or bool({to, "*"} & self._drop_after_data)
            hang = bool({to, "*"} & self._hang_after_data)
            trickle = bool({to, "*"} & self._trickle_after_data)
        if drop:
            server.transport.close()
            return "421 4.3.2 going away"
        while trickle and not server.transport.is_closing():
            await server.push("250-still thinking")
            await asyncio.sleep(0.1)
        if hang or trickle:
            await asyncio.sleep(3600)  # cancelled when the client gives up or the server stops
        if hold:
            await server.loop.run_in_executor(None, self._released.wait)
        return "250 2.0.0 accepted"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        with self._lock:
            name = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
            self.logins.append((name, ok))
            refusal = self.login_refusal.replace("{n}", str(len(self.logins)))
        return AuthResult(success=ok, handled=False, message=None if ok else refusal or None)


class ScriptedServer:
    """A bare SMTP server on 127.0.0.1 for what aiosmtpd will not say: it greets, answers
    EHLO with `ehlo` (lines without their code) and AUTH with `auth`, anything else with
    250, and QUIT with 221. Its threads are all ended on leaving the `with` block (a
    build forks only when no other thread runs)."""

    def __init__(self, ehlo: list[str], auth: str = "235 2.7.0 ok") -> None:
        self.ehlo = ehlo
        self.auth = auth
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port = int(self._listener.getsockname()[1])
        self._connections: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in [self._listener, *self._connections]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked on it
        for thread in list(self._threads):
            thread.join()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # shut down
            self._connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines, contextlib.suppress(OSError):  # shut down
            self._converse(conn, lines)

    def _converse(self, conn: socket.socket, lines: Any) -> None:
        conn.sendall(b"220 scripted ESMTP\r\n")
        for line in lines:
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                head = [f"250-{e}" for e in ["scripted", *self.ehlo[:-1]]]
                reply = "\r\n".join([*head, f"250 {self.ehlo[-1]}"])
            elif verb == b"AUTH":
                reply = self.auth
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                reply = "250 ok"
            conn.sendall(reply.encode() + b"\r\n")
