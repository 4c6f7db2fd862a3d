"""A scriptable SMTP server on loopback (aiosmtpd) for the digest tests.

Each message (the end of DATA) is answered from ``replies`` in turn ("451 ...", "550 ...", "close":
drop the connection without an answer and without keeping the message, "accept-close": keep the
message, then drop the connection without an answer), then with 250. Each MAIL command is answered
from ``mail_replies`` the same way ("close" drops the connection before any message went out).
Accepted messages are kept raw and parsed on demand, so a thousand of them cost little.

``kill_at``/``kill_when``/``victim``: SIGKILL a process at the n-th event of a kind: ``"mail"``
(its MAIL command: the digest is claimed, nothing sent), ``"data"`` (its DATA command, before the
server answers 354), ``"body"`` (the whole message arrived, before the server keeps or answers it)
or ``"accepted"`` (kept, before the client hears the 250: the worst moment to crash).
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.helpers import free_port


@dataclass
class ScriptedSmtp:
    replies: list[str] = field(default_factory=list)
    mail_replies: list[str] = field(default_factory=list)
    raw: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, message)
    attempts: int = 0
    kill_at: int | None = None
    kill_when: str = "accepted"  # mail | data | body | accepted
    victim: int | None = None
    events: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def event(self, kind: str) -> bool:
        """Count an event; at the scripted one, SIGKILL the victim and say so (hold the lock)."""
        self.events[kind] = self.events.get(kind, 0) + 1
        if kind == self.kill_when and self.events[kind] == self.kill_at and self.victim:
            os.kill(self.victim, signal.SIGKILL)
            return True
        return False

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._lock:
            self.event("mail")
            reply = self.mail_replies.pop(0) if self.mail_replies else "250 OK"
        if reply == "close":
            server.transport.close()
            return "421 4.4.2 closing"  # never reaches the client
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self.attempts += 1
            reply = self.replies.pop(0) if self.replies else "250 OK"
            if self.event("body"):
                reply = "close"  # the sender died before the server kept the message
            if reply == "close":
                server.transport.close()
                return "421 4.4.2 closing"  # never reaches the client
            if reply.startswith("250") or reply == "accept-close":
                for rcpt in envelope.rcpt_tos:
                    self.raw.append((rcpt, bytes(envelope.original_content or envelope.content)))
                self.event("accepted")
            if reply == "accept-close":
                server.transport.close()
                return "250 OK"  # never reaches the client
        return reply

    def recipients(self) -> list[str]:
        with self._lock:
            return [rcpt for rcpt, _ in self.raw]

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            parsed = [
                email.message_from_bytes(raw, policy=email.policy.default) for _, raw in self.raw
            ]
        return [m for m in parsed if isinstance(m, EmailMessage)]


class _Smtp(SMTP):
    """aiosmtpd's server with a hook at the DATA command, before its 354 answer."""

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        handler = self.event_handler
        if isinstance(handler, ScriptedSmtp):
            with handler._lock:
                handler.event("data")
        await super().smtp_DATA(arg)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Smtp(self.handler, **self.SMTP_kwargs)


@contextmanager
def smtp_server(handler: ScriptedSmtp | None = None) -> Iterator[ScriptedSmtp]:
    server = handler or ScriptedSmtp()
    server.port = free_port()
    controller = _Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    return str(part.get_content())  # type: ignore[attr-defined]
