"""Mail: message building, the log sender, and SmtpSender against a real aiosmtpd on loopback."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dailypapers.config import Settings
from dailypapers.mail import (
    LogSender,
    Mail,
    MailError,
    SmtpConnection,
    SmtpSender,
    build_message,
    make_sender,
    message_bytes,
)


@dataclass
class Received:
    message: EmailMessage
    rcpt_tos: list[str]
    tls: bool
    authenticated: bool


@dataclass
class Mailbox:
    """Collects what the SMTP server receives."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(
            Received(
                message,
                list(envelope.rcpt_tos),
                session.ssl is not None,
                bool(session.authenticated),
            )
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ada", b"p@ss word")
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def _serve(mailbox: Mailbox, **options: Any) -> Iterator[int]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def plain_port(mailbox: Mailbox) -> Iterator[int]:
    """A server that offers no STARTTLS."""
    yield from _serve(mailbox)


@pytest.fixture
def tls_port(mailbox: Mailbox, tls_files: tuple[Path, Path]) -> Iterator[int]:
    """A server offering STARTTLS and AUTH (AUTH only after STARTTLS)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    yield from _serve(
        mailbox,
        tls_context=context,
        require_starttls=False,
        authenticator=_check_login,
        auth_require_tls=True,
    )


MAIL = Mail(to="reader@example.org", subject="Your sign-in link", text="Open http://x/login")


def test_smtp_without_starttls_sends_in_plain(mailbox: Mailbox, plain_port: int) -> None:
    SmtpSender.from_url(f"smtp://127.0.0.1:{plain_port}", "Daily Papers <dp@example.org>").send(
        Mail(**{**MAIL.__dict__, "html": "<p>Open it</p>", "headers": {"X-Test": "1"}})
    )
    [got] = mailbox.received
    assert got.rcpt_tos == ["reader@example.org"] and not got.tls
    assert got.message["Subject"] == "Your sign-in link"
    assert got.message["From"] == "Daily Papers <dp@example.org>"
    assert got.message["X-Test"] == "1" and got.message["Message-ID"]
    body = got.message.get_body(("plain",))
    html = got.message.get_body(("html",))
    assert body is not None and "http://x/login" in body.get_content()
    assert html is not None and "<p>Open it</p>" in html.get_content()


def test_a_reused_connection_sends_lines_that_start_with_a_dot_intact(
    mailbox: Mailbox, plain_port: int
) -> None:
    """SmtpConnection writes DATA itself (to know when the message starts going out), so it
    doubles a leading dot as SMTP requires and the server takes it back off."""
    texts = [".a line starting with a dot\n..two dots\n.\nthe end", "second mail\n.\n"]
    connection = SmtpConnection(SmtpSender.from_url(f"smtp://127.0.0.1:{plain_port}", "d@e.org"))
    ready: list[int] = []
    try:
        for n, text in enumerate(texts):  # the second mail goes over the same connection
            connection.send(Mail(**{**MAIL.__dict__, "text": text}), lambda n=n: ready.append(n))
    finally:
        connection.close()
    assert ready == [0, 1]  # called once per mail, at the server's 354
    received = [got.message.get_body(("plain",)) for got in mailbox.received]
    assert [part.get_content().splitlines() for part in received if part] == [
        text.splitlines() for text in texts
    ]


def test_smtp_upgrades_with_starttls_and_logs_in(
    mailbox: Mailbox, tls_port: int, tls_files: tuple[Path, Path]
) -> None:
    trust = ssl.create_default_context(cafile=str(tls_files[0]))
    url = f"smtp://ada:p%40ss%20word@127.0.0.1:{tls_port}"
    SmtpSender.from_url(url, "dp@example.org", ssl_context=trust).send(MAIL)
    [got] = mailbox.received
    assert got.tls and got.authenticated


def test_untrusted_certificate_is_a_mail_error(tls_port: int) -> None:
    with pytest.raises(MailError, match=f"127.0.0.1:{tls_port}.*certificate"):
        SmtpSender.from_url(f"smtp://127.0.0.1:{tls_port}", "d@e.org").send(MAIL)


def test_unreachable_server_is_one_sentence() -> None:
    sender = SmtpSender.from_url(f"smtp://127.0.0.1:{_free_port()}", "d@e.org")
    sender.timeout_s = 2
    with pytest.raises(MailError, match="could not send mail via 127.0.0.1"):
        sender.send(MAIL)


@pytest.mark.parametrize(
    "mail",
    [
        Mail(to="a@b.c\r\nBcc: x@y.z", subject="s", text="t"),
        Mail(to="a@b.c", subject="hi\nBcc: x@y.z", text="t"),
        Mail(to="a@b.c", subject="s", text="t", headers={"X-A": "1\r\nBcc: x@y.z"}),
        Mail(to="a@b.c", subject="s", text="t", headers={"Bcc: x@y.z\r\nX-A": "1"}),
    ],
)
def test_header_injection_is_refused(mail: Mail) -> None:
    with pytest.raises(MailError, match="line break"):
        build_message(mail, "dp@example.org")
    with pytest.raises(MailError):
        LogSender().send(mail)


def test_log_sender_prints_the_mail(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dailypapers.mail"):
        LogSender().send(MAIL)
    assert "reader@example.org" in caplog.text and "http://x/login" in caplog.text


def test_make_sender_follows_the_settings(tmp_path: Path) -> None:
    def settings(url: str) -> Settings:
        return Settings(data_dir=tmp_path, smtp_url=url, _env_file=None)  # type: ignore[call-arg]

    assert isinstance(make_sender(settings("")), LogSender)
    smtp = make_sender(settings("smtp://u%40x:p%3Aw@mail.example.org:587"))
    assert isinstance(smtp, SmtpSender)
    assert (smtp.host, smtp.port, smtp.username, smtp.password) == (
        "mail.example.org",
        587,
        "u@x",
        "p:w",
    )
    assert not smtp.implicit_tls and smtp.sender == "Daily Papers <noreply@localhost>"
    secure = make_sender(settings("smtps://mail.example.org"))
    assert isinstance(secure, SmtpSender) and secure.implicit_tls and secure.port == 465
    assert make_sender(settings("smtp://localhost")).port == 25  # type: ignore[attr-defined]
    for bad in ("http://mail.example.org", "smtp://", "smtp://host:99999"):
        with pytest.raises(MailError):
            make_sender(settings(bad))


def test_message_bytes_round_trips_through_a_mail_parser() -> None:
    mail = Mail(
        to="reader@example.org",
        subject="Résumé · " + "long words " * 12,
        text="Ünïcode text\nline two",
        html="<p>plain ASCII html</p>",
        headers={"List-Unsubscribe": "<https://x.example/u?token=" + "a" * 60 + ">, <mailto:u@x>"},
        message_id="<fixed@example.org>",
    )
    raw = message_bytes(mail, "Zoë's Papers <dp@example.org>")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert b",\r\n <mailto:u@x>" in head  # folded at a space, between the two URLs
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF everywhere
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert (
        parsed["Subject"] == mail.subject
        and parsed["From"].addresses[0].display_name == "Zoë's Papers"
    )
    assert parsed["Message-ID"] == "<fixed@example.org>" and parsed["Date"]
    assert str(parsed["List-Unsubscribe"]).startswith("<https://x.example/u?token=aaa")
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and plain.get_content() == "Ünïcode text\nline two"
    assert plain["Content-Transfer-Encoding"] == "base64"
    assert html is not None and html["Content-Transfer-Encoding"] == "7bit"
    assert html.get_content().strip() == "<p>plain ASCII html</p>"


def test_a_non_ascii_address_is_refused() -> None:
    with pytest.raises(MailError, match="SMTPUTF8"):
        message_bytes(Mail(to="zoë@example.org", subject="s", text="t"), "dp@example.org")
