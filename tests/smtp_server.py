"""A scriptable SMTP server on loopback (aiosmtpd) for the digest tests.

Each DATA command is answered from ``replies`` in turn ("451 ...", "550 ...", or "close", which drops
the connection without an answer), then with 250. Accepted messages are kept raw and parsed on
demand, so a thousand of them cost little. ``kill_at``/``victim``: SIGKILL a process the moment
the n-th message is accepted, before the client hears the 250 (the worst moment to crash).
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

from tests.helpers import free_port


@dataclass
class ScriptedSmtp:
    replies: list[str] = field(default_factory=list)
    raw: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, message)
    attempts: int = 0
    kill_at: int | None = None
    victim: int | None = None
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self.attempts += 1
            reply = self.replies.pop(0) if self.replies else "250 OK"
            if reply == "close":
                server.transport.close()
                return "421 4.4.2 closing"  # never reaches the client
            if reply.startswith("250"):
                for rcpt in envelope.rcpt_tos:
                    self.raw.append((rcpt, bytes(envelope.original_content or envelope.content)))
                if self.kill_at is not None and len(self.raw) == self.kill_at and self.victim:
                    os.kill(self.victim, signal.SIGKILL)
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


@contextmanager
def smtp_server(handler: ScriptedSmtp | None = None) -> Iterator[ScriptedSmtp]:
    server = handler or ScriptedSmtp()
    server.port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    return str(part.get_content())  # type: ignore[attr-defined]
