"""Sending mail: a pure message builder and two senders chosen by the settings.

``make_sender`` returns an :class:`SmtpSender` for ``smtp://`` / ``smtps://`` URLs (STARTTLS when the
server offers it, credentials from the URL) or a :class:`LogSender` when no mail server is set, so a
laptop instance prints sign-in links to the console. Senders are injected, which keeps tests on a
real SMTP server on loopback and the services free of I/O.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from dailypapers.config import Settings

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class MailError(Exception):
    """A mail could not be built or sent; the message is one sentence."""


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class MailSender(Protocol):
    def send(self, mail: Mail) -> None: ...


def _clean_header(name: str, value: str) -> str:
    """Refuse line breaks in headers: they would let a value add headers (``Bcc:``) of its own."""
    if any(c in value for c in "\r\n\0") or any(c in name for c in "\r\n\0: "):
        raise MailError(f"mail header {name.strip()[:40]!r} contains a line break")
    return value


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """The MIME message for ``mail``: plain text, plus an HTML alternative when given."""
    message = EmailMessage()
    message["From"] = _clean_header("From", sender)
    message["To"] = _clean_header("To", mail.to)
    message["Subject"] = _clean_header("Subject", mail.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    for name, value in mail.headers.items():
        message[_clean_header(name, name)] = _clean_header(name, value)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


class LogSender:
    """Writes each mail to the log at INFO (the default when ``DAILYPAPERS_SMTP_URL`` is empty)."""

    def send(self, mail: Mail) -> None:
        build_message(mail, "log")  # the same header checks as a real send
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.text)


@dataclass
class SmtpSender:
    """Sends through an SMTP server; ``smtps`` is TLS from the start, ``smtp`` upgrades if offered."""

    host: str
    port: int
    sender: str
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0
    ssl_context: ssl.SSLContext | None = None

    @classmethod
    def from_url(
        cls, url: str, sender: str, *, ssl_context: ssl.SSLContext | None = None
    ) -> SmtpSender:
        """Parse ``smtp://user:pass@host:587`` (percent-escapes allowed in user and password)."""
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise MailError("the mail server URL must look like smtp://user:pass@host:587")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise MailError("the mail server URL has an invalid port") from None
        return cls(
            host=parts.hostname,
            port=port,
            sender=sender,
            implicit_tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ssl_context=ssl_context,
        )

    def send(self, mail: Mail) -> None:
        message = build_message(mail, self.sender)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise MailError(f"could not send mail via {self.host}:{self.port}: {reason}") from None

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.implicit_tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp


def make_sender(settings: Settings) -> MailSender:
    """The sender the settings ask for: SMTP when ``smtp_url`` is set, else the log."""
    if not settings.smtp_url:
        return LogSender()
    return SmtpSender.from_url(settings.smtp_url, settings.mail_from)
