"""The curated daily feed in real Chromium: an instance run with DAILYPAPERS_DAILY_FEED=curated,
a curator (made with ``users add --curator``) featuring a paper from "All new" onto today's page,
and the Curated / All new / For you switch. Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, Mailbox, _run_checked
from tests.e2e.test_polish import sign_in
from tests.helpers import dailypapers_server, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.server]


@pytest.fixture(scope="module")
def curated_server(
    tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[LiveServer]:
    """``dailypapers serve`` over the sample with the curated feed and one curator."""
    root = tmp_path_factory.mktemp("e2e-curated")
    data_dir = root / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")},
        "DAILYPAPERS_SMTP_URL": mailbox.url,
        "DAILYPAPERS_JOBS_IN_WEB": "false",
        "DAILYPAPERS_BASE_URL": url,
        "DAILYPAPERS_MAIL_FROM": "papers@example.org",
        "DAILYPAPERS_DAILY_FEED": "curated",
    }
    command = [sys.executable, "-m", "dailypapers"]
    _run_checked([*command, "demo", "--no-serve", "--data-dir", str(data_dir)], env)
    _run_checked(
        [*command, "users", "add", "curator@example.org", "--curator", "--data-dir", str(data_dir)],
        env,
    )
    log = root / "server.log"
    with dailypapers_server(["serve", "--data-dir", str(data_dir)], port=port, env=env, log=log):
        yield LiveServer(url, data_dir, log)


def test_a_curator_features_a_paper_and_the_switch_moves_between_views(
    browser: Any, curated_server: LiveServer, mailbox: Mailbox, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=curated_server.url, viewport={"width": 1200, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto("/")
        switch = page.get_by_role("navigation", name="which papers")
        expect(switch.get_by_text("Curated")).to_have_attribute("aria-current", "page")
        expect(switch.get_by_role("link", name="For you")).to_have_count(0)  # signed out
        curated_before = page.locator("article.card").count()
        switch.get_by_role("link", name="All new").click()
        expect(switch.get_by_text("All new")).to_have_attribute("aria-current", "page")
        assert "view=all" in page.url
        every = page.locator("article.card").count()
        assert every > curated_before
        sign_in(page, curated_server, mailbox, "curator@example.org")
        page.goto("/?view=all")
        cards = page.locator("article.card")
        chosen = next(
            cards.nth(i).locator("h3.title a").get_attribute("href") or ""
            for i in range(cards.count())
            if "submitted by" not in cards.nth(i).inner_text()
        )
        title = page.locator(f'h3.title a[href="{chosen}"]').first.inner_text()
        page.goto(chosen)
        page.get_by_role("button", name="Feature on today's page").click()
        page.wait_for_url("**view=curated")
        expect(page.get_by_text("is featured on today's page")).to_be_visible()
        expect(page.locator("h3.title", has_text=title)).to_be_visible()
        assert page.locator("article.card").count() == curated_before + 1
        switch = page.get_by_role("navigation", name="which papers")
        expect(switch.get_by_text("Curated")).to_have_attribute("aria-current", "page")
        page.screenshot(path=str(artifacts / "curated-daily.png"), full_page=False)
        switch.get_by_role("link", name="For you").click()
        switch = page.get_by_role("navigation", name="which papers")
        expect(switch.get_by_text("For you")).to_have_attribute("aria-current", "page")
        assert "sort=for_you" in page.url and page.locator("article.card").count() > 0
        page.screenshot(path=str(artifacts / "curated-for-you.png"), full_page=False)
        switch.get_by_role("link", name="Curated").click()
        expect(page.locator("h3.title", has_text=title)).to_be_visible()
        assert not errors, errors
    finally:
        context.close()
