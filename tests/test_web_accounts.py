"""Accounts through the ASGI client: sign-in by emailed link, sign-out, the header menu, the
settings page and its API tokens, on a fresh database per test."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.db.models import UserSession
from dailypapers.mail import LogSender
from dailypapers.services.accounts import add_user, request_login
from dailypapers.web.app import create_app
from tests.helpers import PAPER, MailBox, count, post, sign_in_as, upvotes

# --- sign-in ------------------------------------------------------------------------------------


def test_sign_in_by_emailed_link(
    client: TestClient, mails: MailBox, community_papers: None
) -> None:
    form = client.get("/login", params={"next": f"/papers/{PAPER}"})
    assert form.status_code == 200 and '<label for="email">' in form.text
    sent = post(client, "/login", {"email": "Ada.Lovelace@Example.org", "next": f"/papers/{PAPER}"})
    assert sent.status_code == 200 and "Check your inbox" in sent.text
    assert [m.to for m in mails.sent] == ["ada.lovelace@example.org"]
    link = mails.link()

    for _ in range(2):  # opening the link (a mail scanner, a preview) signs nobody in
        page = client.get(link)
        assert page.status_code == 200 and ">Sign in</button>" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    assert "dp_session" not in client.cookies

    token = link.split("token=", 1)[1]
    done = post(client, "/login/confirm", {"token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/papers/{PAPER}"
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("dp_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http test server, no https base URL

    page = client.get(f"/papers/{PAPER}")
    assert 'class="avatar"' in page.text and ">AL</span>" in page.text
    assert "You are signed in." in page.text
    assert "You are signed in." not in client.get(f"/papers/{PAPER}").text  # shown once
    for item in ("/submit", "/collections", "/settings", 'action="/logout"'):
        assert item in page.text


def test_https_cookies_are_secure_and_host_prefixed(settings: Any, engine: Engine) -> None:
    """Under an https public URL every cookie (session, CSRF, one-time message) is Secure and
    named __Host-, HSTS is on, and a plain-named cookie someone planted is ignored."""
    settings.base_url = "https://papers.example.org"
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        box = MailBox()
        client.app.state.mail_sender = box  # type: ignore[attr-defined]
        first = client.get("/login")
        assert first.headers["strict-transport-security"] == "max-age=31536000"
        post(client, "/login", {"email": "ada@example.org"})
        assert box.link().startswith("https://papers.example.org/login/confirm?token=")
        done = post(client, "/login/confirm", {"token": box.link().split("token=")[1]})
        cookies = done.headers.get_list("set-cookie") + first.headers.get_list("set-cookie")
        names = {cookie.split("=", 1)[0] for cookie in cookies}
        assert names == {"__Host-dp_session", "__Host-dp_csrf", "__Host-dp_flash"}, cookies
        for cookie in cookies:
            attributes = [part.strip().lower() for part in cookie.split(";")]
            assert "secure" in attributes and "path=/" in attributes, cookie
            assert not any(part.startswith("domain=") for part in attributes), cookie
        page = client.get("/")
        assert 'class="avatar"' in page.text and "You are signed in." in page.text

        # a session cookie without the prefix (which a sibling subdomain could plant) is ignored
        session = client.cookies["__Host-dp_session"]
        client.cookies.clear()
        planted = client.get("/", headers={"Cookie": f"dp_session={session}"})
        assert 'class="avatar"' not in planted.text
        prefixed = client.get("/", headers={"Cookie": f"__Host-dp_session={session}"})
        assert 'class="avatar"' in prefixed.text


def test_next_url_never_leaves_the_site(client: TestClient, mails: MailBox) -> None:
    post(client, "/login", {"email": "ada@example.org", "next": "https://evil.example/"})
    done = post(client, "/login/confirm", {"token": mails.link().split("token=")[1]})
    assert done.headers["location"] == "/"


def test_reused_expired_and_unknown_links_get_a_clear_page(
    client: TestClient, mails: MailBox, engine: Engine
) -> None:
    post(client, "/login", {"email": "ada@example.org"})
    token = mails.link().split("token=")[1]
    assert post(client, "/login/confirm", {"token": token}).status_code == 303
    client.cookies.delete("dp_session")
    again = post(client, "/login/confirm", {"token": token})
    assert again.status_code == 400 and "already used" in again.text
    assert 'href="/login"' in again.text and "<html" in again.text

    with Session(engine) as session, session.begin():
        old = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=20)
        stale = request_login(session, "ada@example.org", now=old)
    expired = post(client, "/login/confirm", {"token": stale})
    assert expired.status_code == 400 and "expired" in expired.text
    unknown = post(client, "/login/confirm", {"token": "made-up"})
    assert unknown.status_code == 400 and "not valid" in unknown.text
    assert "dp_session" not in client.cookies


def test_unknown_email_gets_the_same_answer(
    client: TestClient, mails: MailBox, engine: Engine
) -> None:
    with Session(engine) as session:
        add_user(session, "known@example.org")
        session.commit()
    known = post(client, "/login", {"email": "known@example.org"})
    unknown = post(client, "/login", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("known@", "X@") == unknown.text.replace("nobody@", "X@")
    assert len(mails.sent) == 2


def test_bad_email_is_a_400_form(client: TestClient, mails: MailBox) -> None:
    page = post(client, "/login", {"email": "not an email\r\nBcc: x@y"})
    assert page.status_code == 400 and 'role="alert"' in page.text and not mails.sent


@pytest.mark.parametrize(
    ("listen", "base", "allowed"),
    [
        ("127.0.0.1", "http://evil.example", False),
        ("127.0.0.1", "http://127.attacker.example", False),  # a name, not an address
        ("127.0.0.1", "http://127.0.0.1.nip.io:8000", False),
        ("127.0.0.1", "http://localhost.evil.example", False),
        ("127.0.0.1", "http://127.0.0.1:8000", True),
        ("127.0.0.1", "http://127.8.9.10", True),
        ("127.0.0.1", "http://localhost:8000", True),
        ("127.0.0.1", "http://[::1]:8000", True),
        ("0.0.0.0", "http://127.0.0.1:8000", False),  # reachable: no Host is trusted
        ("::", "http://localhost:8000", False),
    ],
)
def test_sign_in_links_never_come_from_a_forged_host(
    settings: Any, engine: Engine, listen: str, base: str, allowed: bool
) -> None:
    """Without DAILYPAPERS_BASE_URL only a loopback Host may shape the link in the mail, and only
    while the server listens on a loopback address."""
    open_settings = settings.model_copy(update={"base_url": "", "host": listen})
    with TestClient(create_app(open_settings), base_url=base) as other:
        box = MailBox()
        other.app.state.mail_sender = box  # type: ignore[attr-defined]
        answer = post(other, "/login", {"email": "ada@example.org"})
        if allowed:
            assert answer.status_code == 200
            assert box.link().startswith(f"{base}/login/confirm?token=")
        else:
            assert answer.status_code == 503 and "DAILYPAPERS_BASE_URL" in answer.text
            assert box.sent == []


def test_sign_out_ends_the_session(client: TestClient, engine: Engine) -> None:
    sign_in_as(client, engine, "ada@example.org")
    old = client.cookies["dp_session"]
    out = post(client, "/logout")
    assert out.status_code == 303
    assert count(engine, UserSession) == 0
    client.cookies.set("dp_session", old)
    assert "Sign in</a>" in client.get("/").text


# --- settings and API tokens --------------------------------------------------------------------


def test_header_menu_and_settings(client: TestClient, engine: Engine) -> None:
    assert 'href="/login?next=/"' in client.get("/").text
    sign_in_as(client, engine, "grace.hopper@example.org")
    assert ">GH</span>" in client.get("/settings").text
    saved = post(client, "/settings", {"display_name": "  Ada Lovelace "})
    assert saved.status_code == 303
    page = client.get("/settings").text
    assert ">AL</span>" in page and "Your profile is saved." in page
    assert post(client, "/settings", {"display_name": " "}).status_code == 400


def test_api_upvote_with_bearer_token_and_revoked_token(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    created = post(client, "/settings/tokens", {"name": "script"})
    assert created.status_code == 200 and "shown only this once" in created.text
    token = re.search(r'value="(dp_[^"]+)"', created.text).group(1)  # type: ignore[union-attr]
    assert "dp_" not in client.get("/settings").text  # never shown again

    bearer = TestClient(client.app)  # no cookies at all: a script
    auth = {"Authorization": f"Bearer {token}"}
    up = bearer.post(f"/api/papers/{PAPER}/upvote", headers=auth)
    assert up.status_code == 200 and up.json() == {"id": PAPER, "upvotes": 1, "upvoted": True}
    assert bearer.delete(f"/api/papers/{PAPER}/upvote", headers=auth).json()["upvotes"] == 0
    assert bearer.post(f"/api/papers/{PAPER}/upvote").status_code == 401
    basic = {"Authorization": "Basic eDp5"}
    assert bearer.post(f"/api/papers/{PAPER}/upvote", headers=basic).status_code == 401
    assert bearer.post("/api/papers/2506.99999/upvote", headers=auth).status_code == 404

    token_id = re.search(r"/settings/tokens/(\d+)/revoke", client.get("/settings").text).group(1)  # type: ignore[union-attr]
    assert post(client, f"/settings/tokens/{token_id}/revoke").status_code == 303
    refused = bearer.post(f"/api/papers/{PAPER}/upvote", headers=auth)
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert upvotes(engine, PAPER) == 0


def test_check_your_inbox_says_where_the_link_is_without_a_mail_server(
    client: TestClient, mails: MailBox
) -> None:
    note = "written to the log of the server process"
    assert note not in post(client, "/login", {"email": "ada@example.org"}).text  # mail was sent
    client.app.state.mail_sender = LogSender()  # no DAILYPAPERS_SMTP_URL: mails go to the log
    sent = post(client, "/login", {"email": "bob@example.org"}).text
    assert "Check your inbox" in sent and note in sent and "DAILYPAPERS_SMTP_URL" in sent
    digest = post(client, "/subscribe", {"email": "carol@example.org"}).text
    assert "Check your inbox" in digest and note in digest
