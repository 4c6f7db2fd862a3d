"""A new user's paper cuts, checked in real Chromium (issue 15): a phone's first screen, the
search filters and placeholder at 390 px, keyboard focus kept through an htmx upvote, chip count
contrast in light and dark themes, the sign-in page saying why it was reached, and the digest
settings' radio buttons beside their labels. Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, Mailbox, mail_text, sign_in_link

pytestmark = [pytest.mark.e2e, pytest.mark.server]

PHONE = {"width": 390, "height": 844}

# WCAG 2 contrast of each element's text colour against the first opaque background behind it.
CONTRAST = """selector => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return Array.from(document.querySelectorAll(selector)).map(el => {
    const [a, b] = [luminance(rgb(getComputedStyle(el).color)), luminance(background(el))];
    return { text: el.textContent, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
             px: parseFloat(getComputedStyle(el).fontSize) };
  });
}"""

# Each control's box against its label's text: [control centre y, text centre y, control right,
# text left] for every radio button and checkbox inside a label.
BESIDE = """() => Array.from(document.querySelectorAll('label > input[type=radio], label > input[type=checkbox]'))
  .map(input => {
    const text = Array.from(input.parentElement.childNodes).find(n => n.nodeType === 3 && n.textContent.trim());
    const range = document.createRange(); range.selectNodeContents(text);
    const [box, words] = [input.getBoundingClientRect(), range.getBoundingClientRect()];
    return [box.top + box.height / 2, words.top + words.height / 2, box.right, words.left];
  })"""


@pytest.fixture
def context_factory(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    made: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server.url, locale="en-US", **options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


def sign_in(page: Any, live_server: LiveServer, mailbox: Mailbox, address: str) -> None:
    before = mailbox.count()
    page.goto("/login")
    page.get_by_label("Email address").fill(address)
    page.locator("main").get_by_role("button", name="Email me a sign-in link").click()
    page.goto(sign_in_link(mailbox.wait_for(address, after=before), live_server.url))
    page.locator("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def test_a_phone_sees_papers_on_the_first_screen(context_factory: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page = context_factory(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto("/")
    card = page.locator("article.card").first
    expect(card).to_be_visible()
    assert card.bounding_box()["y"] < PHONE["height"] * 0.5, "the first card starts too low"
    expect(page.get_by_text("are sample data")).to_be_visible()  # the demo says so
    chips = page.locator("nav.chips")
    summary = page.locator("details.chips-menu > summary")
    expect(summary).to_be_visible()
    expect(chips).to_be_hidden()  # folded away on a phone ...
    page.screenshot(path=artifacts / "mobile-feed.png")
    summary.click()
    expect(chips).to_be_visible()  # ... one tap away, no JavaScript needed
    expect(chips.get_by_role("link", name="All")).to_be_visible()

    # The search box's placeholder fits it.
    fits = page.evaluate(
        """() => { const box = document.querySelector('#q'), s = getComputedStyle(box);
             const ctx = document.createElement('canvas').getContext('2d'); ctx.font = s.font;
             const room = box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
             return [ctx.measureText(box.placeholder).width, room]; }"""
    )
    assert fits[0] <= fits[1], f"the placeholder needs {fits[0]:.0f} px, the box has {fits[1]:.0f}"

    # Search filters: each label stays on the line of its field.
    page.goto("/search?q=gaussian+splatting")
    for name in ("Category", "From", "To", "Sort by"):
        label = page.locator("form.filters label", has_text=re.compile(f"^{name}$")).bounding_box()
        field = page.get_by_label(name, exact=True).bounding_box()
        middle = label["y"] + label["height"] / 2
        assert field["y"] <= middle <= field["y"] + field["height"], f"{name} wrapped away"
        assert label["x"] < field["x"]
    page.screenshot(path=artifacts / "mobile-search.png")


def test_wide_screens_show_the_chips_open(context_factory: Any) -> None:
    from playwright.sync_api import expect

    page = context_factory(viewport={"width": 1200, "height": 800})
    page.goto("/")
    expect(page.locator("nav.chips")).to_be_visible()
    expect(page.locator("details.chips-menu > summary")).to_be_hidden()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chip_counts_meet_wcag_aa_contrast(
    context_factory: Any, scheme: str, artifacts: Path
) -> None:
    page = context_factory(viewport={"width": 1200, "height": 800}, color_scheme=scheme)
    page.goto("/")
    found = page.evaluate(CONTRAST, ".chip small")
    assert len(found) >= 5
    low = [(f["text"], round(f["ratio"], 2)) for f in found if f["ratio"] < 4.5]
    assert low == [], f"chip counts under 4.5:1 in the {scheme} theme at {found[0]['px']} px"
    page.locator(".feed-head").screenshot(path=artifacts / f"chips-{scheme}.png")


def test_an_upvote_keeps_keyboard_focus_on_its_button(
    context_factory: Any, live_server: LiveServer, mailbox: Mailbox, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = context_factory(viewport={"width": 1200, "height": 800})
    sign_in(page, live_server, mailbox, "kim.keyboard@example.org")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    button = page.locator("article.card").first.locator("button.votes")
    button_id = button.get_attribute("id")
    count = int(button.locator(".count").inner_text())
    page.locator("body").focus()
    for _ in range(60):  # the keyboard's way there
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == button_id:
            break
    else:
        raise AssertionError("Tab never reached the first vote button")
    page.keyboard.press("Enter")
    expect(button.locator(".count")).to_have_text(str(count + 1))
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    assert page.evaluate("() => document.activeElement.id") == button_id, "focus was lost"
    page.screenshot(
        path=artifacts / "vote-focus.png", clip={"x": 0, "y": 0, "width": 1200, "height": 500}
    )
    page.keyboard.press("Enter")  # still there: the same key takes the vote back
    expect(button.locator(".count")).to_have_text(str(count))
    expect(button).to_have_attribute("aria-pressed", "false")
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling')")
    assert page.evaluate("() => document.activeElement.id") == button_id


def test_sign_in_from_a_vote_says_why(context_factory: Any) -> None:
    from playwright.sync_api import expect

    page = context_factory(viewport={"width": 1200, "height": 800})
    page.goto("/")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.locator("article.card").first.locator("button.votes").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/&for=upvote$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to upvote")


def test_digest_settings_put_each_choice_beside_its_label(
    context_factory: Any, live_server: LiveServer, mailbox: Mailbox, artifacts: Path
) -> None:
    from playwright.sync_api import expect

    page = context_factory(viewport={"width": 1200, "height": 900})
    address = "dora.digest@example.org"
    before = mailbox.count()
    page.goto("/")
    page.get_by_label("Get trending papers in your inbox").fill(address)
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    link = re.search(
        r"https?://\S+/digest/confirm\?token=\S+",
        mail_text(mailbox.wait_for(address, after=before)),
    )
    assert link
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your digest")
    places = page.evaluate(BESIDE)
    assert len(places) >= 3
    for control_y, text_y, control_right, text_left in places:
        assert abs(control_y - text_y) < 8, "a choice sits on another line than its label"
        assert control_right <= text_left + 1, "a choice is not left of its label"
    expect(page.get_by_label("Weekly, on Saturdays")).to_be_visible()
    page.locator("main").screenshot(path=artifacts / "digest-manage.png")
