"""What guards every state-changing request, through the ASGI client: the CSRF token, safe
methods that change nothing, and the rate limits (429 with Retry-After)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.db.models import LoginToken, UserSession, Vote
from dailypapers.services import ratelimit
from dailypapers.services.accounts import add_user, create_api_token, request_login
from dailypapers.web.app import create_app
from tests.helpers import PAPER, MailBox, count, csrf, post, sign_in_as, upvotes, write_mark

# --- CSRF and safe methods ----------------------------------------------------------------------


def test_csrf_missing_or_wrong_is_403_and_changes_nothing(
    client: TestClient, engine: Engine, mails: MailBox, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    token = csrf(client)
    url = f"/papers/{PAPER}/upvote"
    for data, headers in [({}, {}), ({"csrf_token": "wrong"}, {}), ({}, {"X-CSRF-Token": "x"})]:
        refused = client.post(url, data=data, headers=headers, follow_redirects=False)
        assert refused.status_code == 403 and "reload the page" in refused.text
    refused = client.post("/login", data={"email": "a@example.org"}, follow_redirects=False)
    assert refused.status_code == 403 and not mails.sent
    # a planted cookie that matches the form but was not signed by this instance
    client.cookies.set("dp_csrf", "planted.0000")
    planted = client.post(url, data={"csrf_token": "planted.0000"}, follow_redirects=False)
    assert planted.status_code == 403
    assert upvotes(engine, PAPER) == 0 and count(engine, Vote) == 0
    # the JSON API says it as JSON
    client.cookies.set("dp_csrf", token)
    api = client.post(f"/api/papers/{PAPER}/upvote")
    assert api.status_code == 403 and "error" in api.json()


def test_get_requests_change_nothing(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    with Session(engine) as session, session.begin():
        link = request_login(session, "ada@example.org")
    paths = [
        "/",
        f"/papers/{PAPER}",
        f"/papers/{PAPER}/upvote",
        f"/papers/{PAPER}/save",
        f"/papers/{PAPER}/comments",
        "/logout",
        f"/login/confirm?token={link}",
        "/submit?id=2506.00002",
        "/collections",
        "/settings",
        f"/api/papers/{PAPER}/upvote",
        "/api/papers/index",
    ]
    for path in paths:
        assert client.get(path).status_code < 500
    assert count(engine, Vote) == 0 and count(engine, UserSession) == 1
    assert count(engine, LoginToken, LoginToken.used_at.is_not(None)) == 0
    assert "Sign in</a>" not in client.get("/").text


def test_reading_writes_nothing(client: TestClient, engine: Engine, community_papers: None) -> None:
    """Pages and API reads, signed in or with a token, commit nothing to the database (no rate
    counter, no "last used" beyond once a minute), so readers never queue for SQLite's writer."""
    sign_in_as(client, engine, "reader@example.org")
    with Session(engine) as session:
        user = add_user(session, "script@example.org")
        _token, raw = create_api_token(session, user, "reads")
        session.commit()
    bearer = {"Authorization": f"Bearer {raw}"}
    client.get("/api/papers/2506.00001", headers=bearer)  # the once-a-minute "last used" write
    reads = ["/", "/papers/trending", f"/papers/{PAPER}", "/papers/week/2025-W25", "/search?q=x"]
    reads += ["/api/daily_papers", f"/api/papers/{PAPER}", "/api/papers/search?q=attention"]
    with engine.connect() as conn:
        mark = write_mark(conn)
        for url in reads:
            assert client.get(url).status_code == 200, url
            assert client.get(url, headers=bearer).status_code == 200, url
        assert write_mark(conn) == mark


# --- rate limits --------------------------------------------------------------------------------


def test_too_many_sign_in_requests_get_429(client: TestClient, mails: MailBox) -> None:
    for _ in range(ratelimit.LIMITS["login_email"].count):
        assert post(client, "/login", {"email": "ada@example.org"}).status_code == 200
    refused = post(client, "/login", {"email": "ada@example.org"})
    assert refused.status_code == 429 and "too many requests" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert len(mails.sent) == ratelimit.LIMITS["login_email"].count


def test_too_many_votes_get_429_with_retry_after(
    client: TestClient, engine: Engine, community_papers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ratelimit.LIMITS, "vote_user", ratelimit.Limit(2, 60))
    sign_in_as(client, engine, "ada@example.org")
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf(client)}
    for _ in range(2):
        assert client.post(f"/papers/{PAPER}/upvote", headers=headers).status_code == 200
    refused = client.post(f"/papers/{PAPER}/upvote", headers=headers)
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.headers["hx-retarget"] == "#flash" and 'role="alert"' in refused.text
    api = client.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": csrf(client)})
    assert api.status_code == 429 and "error" in api.json() and "retry-after" in api.headers


def test_a_token_planted_from_an_anonymous_visit_does_not_work_with_a_session(
    client: TestClient, settings: Any, engine: Engine, community_papers: None
) -> None:
    """An attacker's own (validly signed) token, planted in a signed-in browser as cookie and form
    field, is refused: tokens are bound to the session they were made for."""
    with TestClient(create_app(settings)) as attacker:
        attacker.get("/login")
        planted = attacker.cookies["dp_csrf"]
    assert "." in planted  # a real token, signed by this instance
    sign_in_as(client, engine, "victim@example.org")
    client.cookies.delete("dp_csrf")
    client.cookies.set("dp_csrf", planted)
    url = f"/papers/{PAPER}/upvote"
    for sent in ({"data": {"csrf_token": planted}}, {"headers": {"X-CSRF-Token": planted}}):
        refused = client.post(url, follow_redirects=False, **sent)  # type: ignore[arg-type]
        assert refused.status_code == 403 and "expired" in refused.text
    assert count(engine, Vote) == 0
    # the same browser's own token for its session works
    client.cookies.delete("dp_csrf")
    assert post(client, url).status_code == 303 and count(engine, Vote) == 1


def test_signing_in_and_out_rotates_the_csrf_token(client: TestClient, mails: MailBox) -> None:
    anonymous = csrf(client)
    post(client, "/login", {"email": "ada@example.org"})
    done = post(client, "/login/confirm", {"token": mails.link().split("token=")[1]})
    assert any(c.startswith("dp_csrf=") for c in done.headers.get_list("set-cookie"))
    signed_in = csrf(client)
    assert signed_in != anonymous
    # the token from before signing in no longer works with the new session
    client.cookies.delete("dp_csrf")
    client.cookies.set("dp_csrf", anonymous)
    stale = client.post("/settings", data={"csrf_token": anonymous, "display_name": "Eve"})
    assert stale.status_code == 403
    client.cookies.delete("dp_csrf")
    out = post(client, "/logout")
    assert any(c.startswith("dp_csrf=") for c in out.headers.get_list("set-cookie"))
    assert csrf(client) not in (signed_in, anonymous)
