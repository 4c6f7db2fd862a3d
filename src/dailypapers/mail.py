"""Sending mail: a pure message builder and two senders chosen by the settings.

``make_sender`` returns an :class:`SmtpSender` for ``smtp://`` / ``smtps://`` URLs (STARTTLS when the
server offers it, credentials from the URL) or a :class:`LogSender` when no mail server is set, so a
laptop instance prints sign-in links to the console. Senders are injected, which keeps tests on a
real SMTP server on loopback and the services free of I/O.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

from dailypapers.config import Settings

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class MailError(Exception):
    """A mail could not be built or sent; the message is one sentence."""


class TemporaryMailError(MailError):
    """Worth trying again later: a 4xx answer, a dropped connection, a timeout."""


class PermanentMailError(MailError):
    """The server refused this mail for good (a 5xx answer, e.g. 550 no such mailbox)."""


class MailServerDown(MailError):
    """No connection to the mail server (refused, TLS or login failed): no mail can go out."""


class UncertainDelivery(MailError):
    """The whole message went out and no answer came back (a dropped connection, a timeout): the
    server may have accepted it. Sending it again could deliver it twice."""


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


def message_bytes(mail: Mail, sender: str) -> bytes:
    """The MIME message for ``mail`` as sent over SMTP: plain text, plus an HTML alternative.

    Written directly rather than through ``email``'s generator: a digest run builds thousands of
    these, and the generator's header folding and body encoding cost ~3 ms a message, this ~0.2.
    The format is the simple subset every client reads: ASCII bodies as 7bit, others as base64;
    ASCII headers as they are (folded at spaces), others as RFC 2047 encoded words.
    """
    headers = [
        ("From", _address(_clean_header("From", sender))),
        ("To", _address(_clean_header("To", mail.to))),
        ("Subject", _encoded(_clean_header("Subject", mail.subject))),
        ("Date", formatdate(localtime=False, usegmt=True)),
        ("Message-ID", _clean_header("Message-ID", mail.message_id or make_msgid(_domain(sender)))),
    ]
    for name, value in mail.headers.items():
        headers.append((_clean_header(name, name), _encoded(_clean_header(name, value))))
    headers.append(("MIME-Version", "1.0"))
    text_type, text_body = _part(mail.text, "plain")
    if mail.html is None:
        lines = [*_header_lines(headers), *text_type, "", ""]
        return "\r\n".join(lines).encode("ascii") + text_body
    boundary = f"=_dp_{secrets.token_hex(16)}"  # random: cannot occur in the parts
    html_type, html_body = _part(mail.html, "html")
    headers.append(("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    head = "\r\n".join([*_header_lines(headers), "", f"--{boundary}", *text_type, "", ""])
    middle = "\r\n".join(["", f"--{boundary}", *html_type, "", ""])
    return (
        head.encode("ascii")
        + text_body
        + middle.encode("ascii")
        + html_body
        + f"\r\n--{boundary}--\r\n".encode("ascii")
    )


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """``mail`` parsed back as a message (to read its headers and parts, as a client would)."""
    parsed = message_from_bytes(message_bytes(mail, sender), policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _part(body: str, subtype: str) -> tuple[list[str], bytes]:
    """A body part's headers and its encoded content (CRLF line ends)."""
    lines = body.splitlines()
    if body.isascii() and all(len(line) <= 990 for line in lines):
        content_type = f'Content-Type: text/{subtype}; charset="us-ascii"'
        return [content_type, "Content-Transfer-Encoding: 7bit"], "\r\n".join(lines).encode()
    encoded = base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n")
    content_type = f'Content-Type: text/{subtype}; charset="utf-8"'
    return [content_type, "Content-Transfer-Encoding: base64"], encoded.rstrip(b"\r\n")


def _header_lines(headers: list[tuple[str, str]]) -> list[str]:
    return [_fold(name, value) for name, value in headers]


def _fold(name: str, value: str, width: int = 78) -> str:
    """``Name: value``, folded at spaces when long (never right after the colon; a word longer
    than a line stays whole)."""
    first, *words = value.split(" ")
    lines, current = [], f"{name}: {first}"
    for word in words:
        if len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}"
    lines.append(current)
    return "\r\n ".join(lines)


def _encoded(value: str) -> str:
    """ASCII as is; otherwise base64 encoded words of at most 45 bytes (whole characters)."""
    if value.isascii():
        return value
    words, chunk = [], ""
    for char in value:
        if len((chunk + char).encode("utf-8")) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return " ".join(
        f"=?utf-8?b?{base64.b64encode(word.encode('utf-8')).decode('ascii')}?=" for word in words
    )


def _address(value: str) -> str:
    """An address header; a non-ASCII display name is encoded, a non-ASCII address refused."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    if not address.isascii():
        raise MailError(f"cannot send to {address[:80]!r}: non-ASCII addresses need SMTPUTF8")
    return f"{_encoded(name)} <{address}>" if name else address


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip(" >") or "localhost"


class LogSender:
    """Writes each mail to the log at INFO (the default when ``DAILYPAPERS_SMTP_URL`` is empty)."""

    def send(self, mail: Mail, before_data: Callable[[], None] | None = None) -> None:
        message_bytes(mail, "log")  # the same header checks as a real send
        if before_data is not None:
            before_data()
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
        data = message_bytes(mail, self.sender)
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.sendmail(parseaddr(self.sender)[1] or self.sender, [mail.to], data)
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
    """A sender kept open for many mails (digests): SMTP reuses one connection.

    ``before_data`` is called once the server is ready for the message (its 354 answer to DATA),
    right before any of it is sent: the last moment at which the server certainly does not have
    it. If it raises, the message is abandoned (the connection dropped, so the server discards
    it) and the exception propagates.
    """

    def send(self, mail: Mail, before_data: Callable[[], None] | None = None) -> None: ...

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
    :class:`TemporaryMailError` (4xx, or a dropped connection or timeout before the message went
    out), :class:`PermanentMailError` (5xx) or :class:`UncertainDelivery` (the message went out
    and no answer came: the server may have it), so the caller can record each outcome right away.
    """

    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender
        self.envelope_from = parseaddr(sender.sender)[1] or sender.sender
        self._smtp: smtplib.SMTP | None = None

    def send(self, mail: Mail, before_data: Callable[[], None] | None = None) -> None:
        data = message_bytes(mail, self.sender.sender)
        smtp = self._open()
        try:  # MAIL, RCPT, DATA: until the 354 the server cannot have the message
            smtp.ehlo_or_helo_if_needed()
            size = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
            self._expect(smtp, smtp.mail(self.envelope_from, size), 250)
            self._expect(smtp, smtp.rcpt(mail.to), 250, 251)
            smtp.putcmd("data")
            self._expect(smtp, smtp.getreply(), 354)
        except OSError as exc:  # SMTPServerDisconnected, a reset, a timeout (SMTPException too)
            self.close()  # a half-finished transaction: start the next mail on a fresh connection
            raise TemporaryMailError(f"connection lost ({exc or type(exc).__name__})") from None
        if before_data is not None:
            try:
                before_data()
            except BaseException:
                self._drop()  # the server discards a message it did not get to the end of
                raise
        try:
            smtp.send(_dot_stuffed(data))
            code, reply = smtp.getreply()
        except OSError as exc:
            self._drop()
            raise UncertainDelivery(
                f"no answer after the message was sent ({exc or type(exc).__name__}): "
                "the server may have accepted it"
            ) from None
        if code != 250:
            if code == 421:  # the server is closing the connection
                self._drop()
            raise _classify(code, _reason(reply))

    def _expect(self, smtp: smtplib.SMTP, answer: tuple[int, bytes], *codes: int) -> None:
        """Raise the classified error (after RSET, or dropping on 421) unless ``answer`` is ok."""
        code, reply = answer
        if code in codes:
            return
        if code == 421:
            self._drop()
        else:
            try:
                smtp.rset()
            except OSError:
                self._drop()
        raise _classify(code, _reason(reply))

    def _drop(self) -> None:
        """Close the socket without QUIT (the server may be gone, or mid-message)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

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


def _dot_stuffed(data: bytes) -> bytes:
    """The message as sent after DATA: lines starting with a dot doubled, ended by ``.``."""
    body = re.sub(rb"(?m)^\.", b"..", data)
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def open_connection(settings: Settings) -> MailConnection:
    """A connection for many mails: SMTP when ``smtp_url`` is set, else the log."""
    if not settings.smtp_url:
        return LogSender()
    return SmtpConnection(SmtpSender.from_url(settings.smtp_url, settings.mail_from))
