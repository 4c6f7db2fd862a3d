"""The site in real headless Chromium: reading pages, then the community flow of issue 5.

Screenshots land in ``test-artifacts/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, Mailbox, sign_in_link

pytestmark = [pytest.mark.e2e, pytest.mark.server]

MATHML = "http://www.w3.org/1998/Math/MathML"
NEWEST_DAY = "Friday, July 4, 2025"
PAPER_WITH_MATH = "2410.23440"  # "... Lipschitz Operators ...": `$m$` in its abstract (June 27)
PAPER_TO_SUBMIT = "2506.15846"  # announced June 23 in cs.CE, no math, no sample votes or comments
PAPER_DAY = "2025-06-23"
PAPER_TITLE = "Finance Language Model Evaluation (FLaME)"

# Form fields without a label: a <label for>, a wrapping <label>, aria-label or aria-labelledby.
UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset'].includes((el.type || '').toLowerCase()))
  .filter(el => {
    const labelled = Array.from(el.labels || []).some(l => l.textContent.trim() !== '');
    const aria = (el.getAttribute('aria-label') || '').trim() !== '';
    const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/)
      .some(id => id && document.getElementById(id) && document.getElementById(id).textContent.trim());
    return !(labelled || aria || by);
  })
  .map(el => el.outerHTML.slice(0, 160))"""

# Things that act on click but are not real controls (so a keyboard cannot reach them).
FAKE_CONTROLS = """() => Array.from(document.querySelectorAll(
    '[onclick], [hx-get], [hx-post], [hx-put], [hx-patch], [hx-delete]'))
  .filter(el => !['A', 'BUTTON', 'FORM', 'INPUT', 'SELECT', 'TEXTAREA', 'BODY']
    .includes(el.tagName))
  .map(el => el.outerHTML.slice(0, 160))"""

# Keyboard-unreachable controls: a button or link taken out of the tab order.
UNTABBABLE = """() => Array.from(document.querySelectorAll('a[href], button, input, select, textarea'))
  .filter(el => el.type !== 'hidden' && el.tabIndex < 0 && el.offsetParent !== null)
  .map(el => el.outerHTML.slice(0, 160))"""


def htmx_settled(page: Any) -> None:
    """Wait until htmx has finished swapping and settling (new content is wired only then)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def check_accessibility(page: Any) -> None:
    """Every form field is labelled; every control is a real, tabbable button, link or field."""
    where = page.url
    assert page.evaluate(UNLABELLED_FIELDS) == [], f"form fields without a label on {where}"
    assert page.evaluate(FAKE_CONTROLS) == [], f"clickable non-controls on {where}"
    assert page.evaluate(UNTABBABLE) == [], f"controls out of the tab order on {where}"


def tab_until(page: Any, selector: str, *, limit: int) -> int:
    """Press Tab until the element ``selector`` (the first match) has focus; the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return presses
    raise AssertionError(f"{limit} presses of Tab did not reach {selector} on {page.url}")


def has_visible_focus(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                 return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                        || s.boxShadow !== 'none'; }"""
        )
    )


def test_reading_pages(page: Any, live_server: LiveServer, artifacts: Path) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(NEWEST_DAY)
    cards = page.locator("article.card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 20
    first_card = cards.first
    expect(first_card.locator("h3 a")).to_have_attribute("href", re.compile(r"^/papers/\d{4}\.\d+"))
    page.screenshot(path=artifacts / "feed.png")
    check_accessibility(page)

    # Keyboard: the search box comes within the first few Tabs, then the first card's title link.
    page.locator("body").focus()
    tab_until(page, "#q", limit=5)
    assert has_visible_focus(page), "the focused search box shows no focus ring"
    tab_until(page, "article.card h3 a", limit=200)
    assert has_visible_focus(page), "the focused card link shows no focus ring"

    # ← goes to the nearest earlier announcement day.
    page.get_by_role("link", name="previous").click()
    expect(page).to_have_url(re.compile(r"/papers/date/2025-07-03$"))
    expect(heading).to_have_text("Thursday, July 3, 2025")
    expect(cards.first).to_be_visible()

    # Search from the header box; the words are highlighted in the results.
    search = page.get_by_role("searchbox", name="Search papers")
    search.fill("gaussian splatting")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=gaussian(\+|%20)splatting"))
    marks = page.locator("article.card mark")
    expect(marks.first).to_be_visible()
    marked = {text.lower() for text in marks.all_inner_texts()}
    assert marked and all(w.startswith(("gaussian", "splat")) for w in marked), marked
    check_accessibility(page)

    # A paper page renders the LaTeX of its abstract as MathML.
    page.goto(f"/papers/{PAPER_WITH_MATH}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lipschitz Operators")
    math = page.locator(".abstract math").first
    expect(math).to_be_attached()
    assert math.evaluate("el => el.namespaceURI") == MATHML
    assert "$" not in page.locator(".abstract").inner_text()
    check_accessibility(page)
    page.screenshot(path=artifacts / "paper.png")


def cookie_names(page: Any) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies()}


def card_of(page: Any, arxiv_id: str) -> Any:
    """The card of one paper (ids hold dots, so no CSS #id selector)."""
    return page.locator(f'article[id="paper-{arxiv_id}"]')


def test_community_flow(
    page: Any, live_server: LiveServer, mailbox: Mailbox, artifacts: Path
) -> None:
    """Sign in by mail, upvote with htmx, submit, save to a collection, comment, sign out."""
    from playwright.sync_api import expect

    address = "ada.lovelace@example.org"
    main = page.locator("main")
    api = httpx.Client(base_url=live_server.url, timeout=10)
    try:
        # 1. An anonymous upvote leads to the sign-in page; ask for a link and read the mail from
        #    the real SMTP server.
        page.goto("/")
        page.locator("article.card").first.get_by_role("button", name=re.compile("upvotes")).click()
        expect(page).to_have_url(re.compile(r"/login\?next=/"))
        check_accessibility(page)
        before = mailbox.count()
        page.get_by_label("Email address").fill(address)
        main.get_by_role("button", name="Email me a sign-in link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        mail = mailbox.wait_for(address, after=before)
        assert mail["Subject"], "the sign-in mail has no subject"
        link = sign_in_link(mail, live_server.url)

        # 2. Opening the link shows a button (a GET never signs in); the button does.
        page.goto(link)
        assert "dp_session" not in cookie_names(page)
        main.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(live_server.url + "/")
        expect(page.get_by_role("link", name="Sign in", exact=True)).to_have_count(0)
        menu = page.locator("details.user-menu summary")
        expect(menu).to_contain_text("AL")  # the avatar's initials
        session_cookie = next(c for c in page.context.cookies() if c["name"] == "dp_session")
        assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"
        check_accessibility(page)

        # 3. Upvote from the feed: the count changes in place, without loading a page.
        card = page.locator("article.card").first
        arxiv_id = card.get_attribute("id").removeprefix("paper-")
        upvotes = api.get(f"/api/papers/{arxiv_id}").json()["upvotes"]
        # htmx loads deferred: on a slow machine a click can come before it has wired the forms
        page.wait_for_function(
            "() => window.htmx !== undefined && document.readyState === 'complete'"
        )
        page.evaluate("window.__still_here = true")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        button = card.get_by_role("button", name=re.compile("upvotes"))
        expect(button).to_have_attribute("aria-pressed", "false")
        expect(button.locator(".count")).to_have_text(str(upvotes))
        button.click()
        expect(button.locator(".count")).to_have_text(str(upvotes + 1))
        expect(button).to_have_attribute("aria-pressed", "true")
        assert api.get(f"/api/papers/{arxiv_id}").json()["upvotes"] == upvotes + 1
        htmx_settled(page)  # the swapped-in button is wired before we use it
        button.click()  # a second click takes the vote back ...
        expect(button).to_have_attribute("aria-pressed", "false")
        expect(button.locator(".count")).to_have_text(str(upvotes))
        htmx_settled(page)
        button.focus()  # ... and the keyboard gives it again
        page.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(button.locator(".count")).to_have_text(str(upvotes + 1))
        assert page.evaluate("window.__still_here") is True, "the upvote reloaded the page"
        assert navigations == [], f"the upvote navigated: {navigations}"
        page.reload()
        voted = card_of(page, arxiv_id).get_by_role("button", name=re.compile("upvotes"))
        expect(voted).to_have_attribute("aria-pressed", "true")
        expect(voted.locator(".count")).to_have_text(str(upvotes + 1))
        page.screenshot(path=artifacts / "feed-signed-in.png")

        # 4. Submit a paper of the sample (announced June 23): the instance has it, so it is
        #    marked as a pick on its own day; no feed day appears at today's date.
        today = datetime.now(UTC).date().isoformat()
        page.get_by_role("link", name="Submit", exact=True).click()
        expect(page).to_have_url(re.compile("/submit$"))
        check_accessibility(page)
        page.get_by_label("arXiv id or URL").fill(f"https://arxiv.org/abs/{PAPER_TO_SUBMIT}v1")
        main.get_by_role("button", name="Submit", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/papers/{re.escape(PAPER_TO_SUBMIT)}$"))
        expect(main.locator(".submitter")).to_have_text("Submitted by ada.lovelace")
        expect(page.locator("#flash")).to_contain_text("marked as your pick")
        check_accessibility(page)
        page.goto(f"/papers/date/{PAPER_DAY}?category=cs.CE")  # its day's feed names the pick
        expect(card_of(page, PAPER_TO_SUBMIT).locator(".submitter")).to_have_text(
            "submitted by ada.lovelace"
        )

        # 5. Find it, save it from its card to a new collection, with a note (the form comes
        #    with htmx).
        search = page.get_by_role("searchbox", name="Search papers")
        search.fill(PAPER_TITLE)
        search.press("Enter")
        submitted = card_of(page, PAPER_TO_SUBMIT)
        submitted.get_by_role("link", name="Save", exact=True).click()
        form = submitted.locator("form.save-form")
        expect(form).to_be_visible()
        check_accessibility(page)
        form.get_by_label("Name of a new collection").fill("Reading group")
        form.get_by_label("Note").fill("for Thursday")
        form.get_by_role("button", name="Save", exact=True).click()
        saved = submitted.get_by_role("status")
        expect(saved).to_have_text("Saved to Reading group.")
        saved.get_by_role("link", name="Reading group").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Reading group")
        expect(card_of(page, PAPER_TO_SUBMIT).locator(".note")).to_have_text("Note: for Thursday")
        check_accessibility(page)

        # 6. Comment with math and a script: the math renders, the script never runs.
        card_of(page, PAPER_TO_SUBMIT).locator("h3 a").click()
        expect(page).to_have_url(re.compile(rf"/papers/{re.escape(PAPER_TO_SUBMIT)}$"))
        check_accessibility(page)
        page.get_by_label(re.compile("^Add a comment")).fill(
            "Nice bound: $x^2$ <script>window.__pwned=1</script>"
        )
        page.get_by_role("button", name="Post comment").click()
        comment = page.locator("article.comment").filter(has_text="Nice bound")
        expect(comment).to_have_count(1)
        expect(comment.locator("header")).to_contain_text("ada.lovelace")
        math = comment.locator(".comment-body math")
        expect(math).to_have_count(1)
        assert math.evaluate("el => el.namespaceURI") == MATHML
        assert math.locator("msup").count() == 1
        assert comment.locator("script").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        expect(page.get_by_role("link", name="Comments (1)")).to_be_visible()
        check_accessibility(page)
        page.screenshot(path=artifacts / "paper-signed-in.png", full_page=True)
        page.reload()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        day = {"date": PAPER_DAY, "category": "cs.CE"}
        listed = api.get("/api/daily_papers", params=day).json()
        entry = next(e for e in listed if e["paper"]["id"] == PAPER_TO_SUBMIT)
        assert entry["numComments"] == 1
        assert api.get("/api/daily_papers", params={"date": today}).json() == []

        # 7. Sign out from the account menu: "Sign in" is back and /settings asks for it.
        menu.click()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
        assert "dp_session" not in cookie_names(page)
        page.goto("/settings")
        expect(page).to_have_url(re.compile(r"/login\?next="))

        # The sign-in link works once: used again, a clear page says so and offers a new one.
        page.goto(link)
        main.get_by_role("button", name="Sign in").click()
        expect(main).to_contain_text("already used")
        expect(main.get_by_role("link", name=re.compile("new sign-in link", re.I))).to_be_visible()
        assert "dp_session" not in cookie_names(page)
    finally:
        api.close()
