"""The For you tab in real Chromium: a new user's cold-start page with its few papers to mark,
"More like this" swapped in place by htmx (no inline script: the CSP holds), the signals page
listing what was marked, and the library import form. Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, Mailbox
from tests.e2e.test_polish import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.server]


def test_for_you_cold_start_feedback_and_signals(
    browser: Any, live_server: LiveServer, mailbox: Mailbox, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, live_server, mailbox, "foryou@example.org")
        page.get_by_role("link", name="For you").first.click()
        expect(page.get_by_role("heading", name="Getting to know you")).to_be_visible()
        starters = page.locator(".starters li")
        assert starters.count() >= 1
        button = starters.first.get_by_role("button", name="More like this")
        button.click()
        pressed = starters.first.get_by_role("button", name="More like this")
        expect(pressed).to_have_attribute("aria-pressed", "true")
        assert page.url.endswith("/papers/for-you")  # swapped in place, no reload
        page.screenshot(path=str(artifacts / "for-you-cold-start.png"), full_page=True)
        page.goto("/settings/signals")
        expect(page.get_by_text("More like this").first).to_be_visible()
        expect(page.get_by_text("1 signal")).to_be_visible()
        page.screenshot(path=str(artifacts / "for-you-signals.png"), full_page=True)
        page.goto("/settings/library")
        page.get_by_label("or arXiv ids / URLs, one per line").fill("2506.99999")
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_text("1 pending")).to_be_visible()
        page.screenshot(path=str(artifacts / "for-you-library.png"), full_page=True)
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()
