"""The Content-Security-Policy in real Chromium (issue 15): the main pages, the API docs and the
htmx actions (upvote, save) run without a single CSP violation, and htmx still works under it.

Screenshots: ``test-artifacts/csp-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.services.accounts import add_user, create_session
from tests.e2e.conftest import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.server]

PAPER = "2410.23440"
PAGES = [
    "/",
    "/papers/week/2025-W26",
    "/papers/month/2025-06",
    "/papers/trending",
    f"/papers/{PAPER}",
    "/search?q=gaussian+splatting",
    "/collections",
    "/settings",
    "/submit",
    "/digest/subscribe",
    "/nowhere",
]

# Every CSP violation the page reports, collected before any of its own scripts run.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""


def session_for(live_server: LiveServer, email: str) -> str:
    """A session cookie for ``email``, made in the server's database."""
    settings = Settings(data_dir=live_server.data_dir, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        user = add_user(session, email)
        raw = create_session(session, user)
        session.commit()
    engine.dispose()
    return raw


@pytest.fixture
def signed_in(browser: Any, live_server: LiveServer) -> Iterator[tuple[Any, list[str]]]:
    """A page signed in as a user made in the server's database, and the CSP messages the
    console printed."""
    raw = session_for(live_server, "csp@example.org")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1200, "height": 800}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "dp_session", "value": raw, "url": live_server.url}])
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page, console
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def violations(page: Any, console: list[str]) -> list[str]:
    return [*page.evaluate("window.__violations"), *console]


def test_pages_run_without_csp_violations(
    signed_in: tuple[Any, list[str]], artifacts: Path
) -> None:
    page, console = signed_in
    for path in PAGES:
        page.goto(path)
        page.wait_for_load_state("load")
        page.wait_for_function("() => window.htmx !== undefined")
        assert violations(page, console) == [], path
    page.goto("/")
    page.screenshot(path=artifacts / "csp-feed.png")


def test_htmx_upvote_and_save_work_under_the_csp(
    signed_in: tuple[Any, list[str]], artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page, console = signed_in
    page.goto("/papers/date/2025-06-26")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.evaluate("window.__still_here = true")
    card = page.locator("article.card").nth(1)
    button = card.get_by_role("button", name=re.compile("upvotes"))
    before = int(button.locator(".count").inner_text())
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator(".count")).to_have_text(str(before + 1))

    card.get_by_role("link", name="Save", exact=True).click()
    form = card.locator("form.save-form")
    expect(form).to_be_visible()
    form.get_by_label("Name of a new collection").fill("Under the CSP")
    form.get_by_role("button", name="Save", exact=True).click()
    expect(card.get_by_role("status")).to_have_text("Saved to Under the CSP.")
    assert page.evaluate("window.__still_here") is True, "htmx did not swap: the page reloaded"
    page.screenshot(path=artifacts / "csp-htmx.png")
    assert violations(page, console) == []


def test_api_docs_render_offline_under_their_csp(
    signed_in: tuple[Any, list[str]], artifacts: Path
) -> None:
    """Swagger UI comes from the package, not a CDN: with every request that leaves this
    server blocked, /docs still shows the API's operations."""
    from playwright.sync_api import expect

    page, console = signed_in
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(page.context.pages[0].url.split("/docs")[0]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.goto("/")
    page.route("**/*", only_local)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("dailypapers")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.screenshot(path=artifacts / "csp-docs.png")
    assert outside == []
    assert violations(page, console) == []


def test_upvote_without_javascript(browser: Any, live_server: LiveServer) -> None:
    """The upvote button submits the page's one hidden form (its CSRF token) to its own
    formaction, so voting works without JavaScript too, and comes back to the card."""
    from playwright.sync_api import expect

    raw = session_for(live_server, "nojs@example.org")
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies([{"name": "dp_session", "value": raw, "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto("/papers/date/2025-06-25")
        card = page.locator("article.card").nth(2)
        arxiv_id = (card.get_attribute("id") or "").removeprefix("paper-")
        button = card.get_by_role("button", name=re.compile("upvotes"))
        before = int(button.locator(".count").inner_text())
        button.click()
        expect(page).to_have_url(
            re.compile(rf"/papers/date/2025-06-25#paper-{re.escape(arxiv_id)}$")
        )
        voted = page.locator(f'article[id="paper-{arxiv_id}"]').get_by_role(
            "button", name=re.compile("upvotes")
        )
        expect(voted).to_have_attribute("aria-pressed", "true")
        expect(voted.locator(".count")).to_have_text(str(before + 1))
    finally:
        context.close()
