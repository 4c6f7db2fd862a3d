"""Sending mail: a pure message builder and two senders chosen by the settings.

``make_sender`` returns an :class:`SmtpSender` for ``smtp://`` / ``smtps://`` URLs (STARTTLS when the
server offers it, credentials from the URL) or a :class:`LogSender` when no mail server is set, so a
laptop instance prints sign-in links to the console. Senders are injected, which keeps tests on a
real SMTP server on loopback and the services free of I/O.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass, field
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from dailypapers.config import Settings

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
SMTP_POLICY = compat32.clone(linesep="\r\n")


class MailError(Exception):
    """A mail could not be built or sent; the message is one sentence."""


class TemporaryMailError(MailError):
    """Worth trying again later: a 4xx answer, a dropped connection, a timeout."""


class PermanentMailError(MailError):
    """The server refused this mail for good (a 5xx answer, e.g. 550 no such mailbox)."""


class MailServerDown(MailError):
    """No connection to the mail server (refused, TLS or login failed): no mail can go out."""


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None  # default: a new one per message


class MailSender(Protocol):
    def send(self, mail: Mail) -> None: ...


def _clean_header(name: str, value: str) -> str:
    """Refuse line breaks in headers: they would let a value add headers (``Bcc:``) of its own."""
    if any(c in value for c in "\r\n\0") or any(c in name for c in "\r\n\0: "):
        raise MailError(f"mail header {name.strip()[:40]!r} contains a line break")
    return value


def build_message(mail: Mail, sender: str) -> Message:
    """The MIME message for ``mail``: plain text, plus an HTML alternative when given.

    Built with the classic ``email.mime`` classes: a digest run builds thousands of these, and
    they are several times faster than ``EmailMessage`` (whose quoted-printable body encoding
    is pure Python). Non-ASCII bodies go as base64 (C code); ASCII headers are never encoded,
    so ``List-Unsubscribe`` URLs stay readable to mail clients.
    """
    text = _text_part(mail.text, "plain")
    message: Message = text
    if mail.html is not None:
        # A random boundary given up front: otherwise the generator searches the body for one.
        message = MIMEMultipart("alternative", boundary=f"=_dp_{secrets.token_hex(16)}")
        message.attach(text)
        message.attach(_text_part(mail.html, "html"))
    message["From"] = _address_header(_clean_header("From", sender))
    message["To"] = _address_header(_clean_header("To", mail.to))
    message["Subject"] = _header(_clean_header("Subject", mail.subject))
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = _clean_header(
        "Message-ID", mail.message_id or make_msgid(domain=_domain(sender))
    )
    for name, value in mail.headers.items():
        message[_clean_header(name, name)] = _header(_clean_header(name, value))
    return message


def message_bytes(message: Message) -> bytes:
    """The message as sent over SMTP (CRLF line ends)."""
    return message.as_bytes(policy=SMTP_POLICY)


def _text_part(body: str, subtype: str) -> MIMEText:
    if body.isascii() and all(len(line) <= 990 for line in body.splitlines()):
        return MIMEText(body, subtype, "us-ascii")  # 7bit, as is
    return MIMEText(body, subtype, "utf-8")  # base64


def _header(value: str) -> Any:
    """ASCII as is; anything else as an RFC 2047 encoded word (typeshed wants str, Header works)."""
    return value if value.isascii() else Header(value, "utf-8")


def _address_header(value: str) -> str:
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


class LogSender:
    """Writes each mail to the log at INFO (the default when ``DAILYPAPERS_SMTP_URL`` is empty)."""

    def send(self, mail: Mail) -> None:
        build_message(mail, "log")  # the same header checks as a real send
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.text)

    def close(self) -> None:
        return None


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


class MailConnection(Protocol):
    """A sender kept open for many mails (digests): SMTP reuses one connection."""

    def send(self, mail: Mail) -> None: ...

    def close(self) -> None: ...


def _classify(code: int, reason: str) -> MailError:
    if 500 <= code < 600:
        return PermanentMailError(f"refused for good ({code} {reason})")
    return TemporaryMailError(f"refused for now ({code} {reason})")


def _reason(raw: bytes | str) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())[:200]


class SmtpConnection:
    """One SMTP connection reused for many mails; it reconnects on the next mail after a drop.

    :meth:`send` returns once the server accepted the message (its reply to DATA) and raises
    :class:`TemporaryMailError` (4xx, dropped connection, timeout) or :class:`PermanentMailError`
    (5xx) otherwise, so the caller can record each outcome right away.
    """

    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender
        self.envelope_from = parseaddr(sender.sender)[1] or sender.sender
        self._smtp: smtplib.SMTP | None = None

    def send(self, mail: Mail) -> None:
        message = build_message(mail, self.sender.sender)
        data = message_bytes(message)
        smtp = self._open()
        try:
            smtp.sendmail(self.envelope_from, [mail.to], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = exc.recipients.get(mail.to, (450, b"recipient refused"))
            raise _classify(code, _reason(reason)) from None
        except smtplib.SMTPResponseException as exc:  # a 4xx or 5xx answer (SMTPDataError...)
            if exc.smtp_code == 421:  # the server is closing the connection
                self.close()
            raise _classify(exc.smtp_code, _reason(exc.smtp_error)) from None
        except OSError as exc:  # SMTPServerDisconnected, a reset, a timeout (SMTPException too)
            self.close()  # a half-finished transaction: start the next mail on a fresh connection
            raise TemporaryMailError(f"connection lost ({exc or type(exc).__name__})") from None

    def _open(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        where = f"{self.sender.host}:{self.sender.port}"
        try:
            smtp = self.sender._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise MailServerDown(
                f"could not connect to {where}: {exc or type(exc).__name__}"
            ) from None
        try:
            if self.sender.username:
                smtp.login(self.sender.username, self.sender.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise MailServerDown(f"could not sign in to {where}: {exc}") from None
        self._smtp = smtp
        return smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def open_connection(settings: Settings) -> MailConnection:
    """A connection for many mails: SMTP when ``smtp_url`` is set, else the log."""
    if not settings.smtp_url:
        return LogSender()
    return SmtpConnection(SmtpSender.from_url(settings.smtp_url, settings.mail_from))
