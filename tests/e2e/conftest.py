"""End-to-end fixtures: a real SMTP server, a real dailypapers server and headless Chromium.

- ``mailbox``: an aiosmtpd server on loopback that keeps every message it receives (parsed with the
  ``email`` package), so a test reads the sign-in mail the way a person would.
- ``live_server``: ``python -m dailypapers serve`` in a subprocess over a copy of the bundled sample,
  sending its mail to ``mailbox``.
- ``browser``: Chromium from Debian (``/usr/bin/chromium``) driven by Playwright; the tests are skipped
  with a message when it is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import dailypapers_server, free_port

CHROMIUM = Path("/usr/bin/chromium")
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end to end in real headless Chromium (needs chromium)")


# --- SMTP ------------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """Messages received by the loopback SMTP server, oldest first."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def add(self, message: EmailMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def wait_for(self, to: str, *, after: int = 0, timeout: float = 10) -> EmailMessage:
        """The first message to ``to`` among those received after the first ``after`` ones."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for message in self.messages[after:]:
                    if to.lower() in str(message["To"]).lower():
                        return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {to} within {timeout} s")
            time.sleep(0.05)


def mail_text(message: EmailMessage) -> str:
    """The plain-text body of a message (the HTML one when there is no plain text)."""
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None, f"mail without a body: {message['Subject']}"
    return str(body.get_content())


def sign_in_link(message: EmailMessage, base_url: str) -> str:
    found = re.search(
        re.escape(base_url) + r"/login/confirm\?token=[A-Za-z0-9_\-%.~]+", mail_text(message)
    )
    assert found, f"no sign-in link to {base_url} in the mail:\n{mail_text(message)}"
    return found.group(0)


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.add(message)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    port = free_port()
    box = Mailbox("127.0.0.1", port)
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# --- dailypapers -----------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _run_checked(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[LiveServer]:
    """A real ``dailypapers serve`` over the bundled sample, mailing through ``mailbox``."""
    root = tmp_path_factory.mktemp("e2e")
    data_dir = root / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")},
        "DAILYPAPERS_SMTP_URL": mailbox.url,
        "DAILYPAPERS_JOBS_IN_WEB": "false",
        "DAILYPAPERS_BASE_URL": url,
        "DAILYPAPERS_MAIL_FROM": "papers@example.org",
    }
    _run_checked(
        [sys.executable, "-m", "dailypapers", "demo", "--no-serve", "--data-dir", str(data_dir)],
        env,
    )
    log = root / "server.log"
    serve = ["serve", "--data-dir", str(data_dir)]
    with dailypapers_server(serve, port=port, env=env, log=log):
        yield LiveServer(url, data_dir, log)


# --- Chromium --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"end-to-end tests need Chromium at {CHROMIUM} "
            "(apt-get install chromium; .ci/run installs it)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) with its own page, 1200x800 like the README shot."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1200, "height": 800}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` in the repository root (git-ignored): screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
