"""Upvotes through the ASGI client: the button with and without JavaScript, signed out, and what
a feed page costs with vote state on every card."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.helpers import PAPER, add_papers, csrf, post, record, sign_in_as, upvotes

# --- upvotes ------------------------------------------------------------------------------------


def test_vote_toggle_without_javascript(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    feed = "http://testserver/papers/date/2025-06-20?category=cs.LG"
    up = post(client, f"/papers/{PAPER}/upvote", headers={"Referer": feed})
    assert up.status_code == 303
    assert up.headers["location"] == f"/papers/date/2025-06-20?category=cs.LG#paper-{PAPER}"
    assert upvotes(engine, PAPER) == 1
    page = client.get("/papers/date/2025-06-20").text
    assert 'class="votes voted" aria-pressed="true"' in page
    elsewhere = post(
        client, f"/papers/{PAPER}/upvote", headers={"Referer": "https://evil.example/x"}
    )
    assert elsewhere.headers["location"] == f"/papers/{PAPER}"
    assert upvotes(engine, PAPER) == 0


def test_vote_toggle_with_htmx_returns_the_button(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf(client)}
    up = client.post(f"/papers/{PAPER}/upvote", headers=headers)
    assert up.status_code == 200 and "<html" not in up.text
    assert up.text.lstrip().startswith(f'<button type="submit" id="vote-{PAPER}" form="vote-form"')
    assert 'aria-pressed="true"' in up.text and '<span class="count">1</span>' in up.text
    down = client.post(f"/papers/{PAPER}/upvote", headers=headers)
    assert 'aria-pressed="false"' in down.text and '<span class="count">0</span>' in down.text


def test_anonymous_vote_goes_to_sign_in(client: TestClient, community_papers: None) -> None:
    feed = "http://testserver/papers/date/2025-06-20"
    plain = post(client, f"/papers/{PAPER}/upvote", headers={"Referer": feed})
    assert plain.status_code == 303
    assert plain.headers["location"] == "/login?next=/papers/date/2025-06-20&for=upvote"
    htmx = client.post(
        f"/papers/{PAPER}/upvote",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(client), "Referer": feed},
    )
    assert htmx.headers["hx-redirect"] == "/login?next=/papers/date/2025-06-20&for=upvote"
    page = client.get(htmx.headers["hx-redirect"]).text
    assert "<h1>Sign in to upvote</h1>" in page  # says why
    assert 'name="next" value="/papers/date/2025-06-20"' in page


def test_the_sign_in_page_names_only_known_reasons(client: TestClient) -> None:
    assert "<h1>Sign in</h1>" in client.get("/login").text
    assert "<h1>Sign in</h1>" in client.get("/login", params={"for": "<b>pwned</b>"}).text
    assert "<h1>Sign in to submit a paper</h1>" in client.get("/login?for=submit").text
    assert client.get("/login", params={"for": "x" * 50}).status_code == 400


def test_the_vote_button_keeps_its_id_across_the_swap(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    """htmx puts focus back on an element with the same id after a swap (keyboard users keep
    their place): the button has one, in the page and in the swapped-in fragment."""
    sign_in_as(client, engine, "ada@example.org")
    assert f'id="vote-{PAPER}"' in client.get("/papers/date/2025-06-20").text
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf(client)}
    assert f'id="vote-{PAPER}"' in client.post(f"/papers/{PAPER}/upvote", headers=headers).text


# --- page cost ----------------------------------------------------------------------------------


@pytest.fixture
def statements(client: TestClient) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def remember(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", remember)
    yield seen
    event.remove(engine, "before_cursor_execute", remember)


def test_feed_page_cost_does_not_grow_with_cards(
    client: TestClient, engine: Engine, statements: list[str]
) -> None:
    """Vote state, comment counts and submitters load once per page, never once per card."""
    add_papers(engine, *[record(f"2506.{i:05d}", "2025-06-20") for i in range(1, 3)])
    add_papers(engine, *[record(f"2506.{i:05d}", "2025-06-23") for i in range(10, 30)])
    sign_in_as(client, engine, "ada@example.org")
    post(client, "/papers/2506.00001/upvote")
    post(client, "/papers/2506.00010/upvote")
    post(client, "/papers/2506.00010/comments", {"body": "hi"})
    costs = []
    for day in ("2025-06-20", "2025-06-23"):
        statements.clear()
        page = client.get(f"/papers/date/{day}").text
        assert page.count('class="votes voted"') == 1
        costs.append(len(statements))
    assert costs[0] == costs[1]
