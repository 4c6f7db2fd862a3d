"""Community pages through the ASGI client: sign-in by emailed link, sessions, settings and rate
limits, on a fresh database per test."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, UserSession
from dailypapers.mail import Mail
from dailypapers.services import ratelimit
from dailypapers.services.accounts import add_user, create_session, request_login
from tests.helpers import add_papers, record

PAPER = "2506.00001"
OTHER = "2506.00002"


class MailBox:
    """Stands in for the app's mail sender and keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)

    def link(self) -> str:
        match = re.search(r"https?://\S+/login/confirm\?token=\S+", self.sent[-1].text)
        assert match, self.sent[-1].text
        return match.group(0)


@pytest.fixture
def mails(client: TestClient) -> MailBox:
    box = MailBox()
    client.app.state.mail_sender = box  # type: ignore[attr-defined]
    return box


@pytest.fixture
def papers(engine: Engine) -> None:
    add_papers(
        engine,
        record(PAPER, "2025-06-20", title="Attention for everyone"),
        record(OTHER, "2025-06-20", title="Sparse mixtures"),
        record("2506.00003", "2025-06-19", title="An older paper"),
    )


def csrf(client: TestClient) -> str:
    """The browser's CSRF token (a first GET sets the cookie)."""
    if "dp_csrf" not in client.cookies:
        client.get("/login")
    return client.cookies["dp_csrf"]


def post(client: TestClient, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """A form POST as the page would send it: with the CSRF token, not following redirects."""
    return client.post(
        url, data={"csrf_token": csrf(client), **(data or {})}, follow_redirects=False, **kw
    )


def sign_in_as(
    client: TestClient, engine: Engine, email: str, *, admin: bool = False, name: str | None = None
) -> int:
    """Give the client a session cookie for ``email`` (the mail round trip is tested once)."""
    with Session(engine) as session:
        user = add_user(session, email, admin=admin, display_name=name)
        raw = create_session(session, user)
        session.commit()
        user_id = user.id
    client.cookies.set("dp_session", raw)
    return user_id


def count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def upvotes(engine: Engine, arxiv_id: str) -> int:
    with Session(engine) as session:
        return session.scalar(select(Paper.upvotes).where(Paper.arxiv_id == arxiv_id)) or 0


# --- sign-in ------------------------------------------------------------------------------------


def test_sign_in_by_emailed_link(client: TestClient, mails: MailBox, papers: None) -> None:
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


def test_secure_cookie_behind_https(settings: Any, engine: Engine) -> None:
    from dailypapers.web.app import create_app

    settings.base_url = "https://papers.example.org"
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        box = MailBox()
        client.app.state.mail_sender = box  # type: ignore[attr-defined]
        first = client.get("/login")
        post(client, "/login", {"email": "ada@example.org"})
        assert box.link().startswith("https://papers.example.org/login/confirm?token=")
        done = post(client, "/login/confirm", {"token": box.link().split("token=")[1]})
        cookies = done.headers.get_list("set-cookie") + first.headers.get_list("set-cookie")
        assert [c for c in cookies if c.startswith(("dp_session=", "dp_csrf="))]
        assert all("Secure" in c for c in cookies if c.startswith(("dp_session=", "dp_csrf=")))


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

    with Session(engine) as session:
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


def test_sign_out_ends_the_session(client: TestClient, engine: Engine) -> None:
    sign_in_as(client, engine, "ada@example.org")
    old = client.cookies["dp_session"]
    out = post(client, "/logout")
    assert out.status_code == 303
    assert count(engine, UserSession) == 0
    client.cookies.set("dp_session", old)
    assert "Sign in</a>" in client.get("/").text


# --- rate limits and header --------------------------------------------------------------------


def test_too_many_sign_in_requests_get_429(client: TestClient, mails: MailBox) -> None:
    for _ in range(ratelimit.LIMITS["login_email"].count):
        assert post(client, "/login", {"email": "ada@example.org"}).status_code == 200
    refused = post(client, "/login", {"email": "ada@example.org"})
    assert refused.status_code == 429 and "too many requests" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert len(mails.sent) == ratelimit.LIMITS["login_email"].count


def test_header_menu_and_settings(client: TestClient, engine: Engine) -> None:
    assert 'href="/login?next=/"' in client.get("/").text
    sign_in_as(client, engine, "grace.hopper@example.org")
    assert ">GH</span>" in client.get("/settings").text
    saved = post(client, "/settings", {"display_name": "  Ada Lovelace "})
    assert saved.status_code == 303
    page = client.get("/settings").text
    assert ">AL</span>" in page and "Your profile is saved." in page
    assert post(client, "/settings", {"display_name": " "}).status_code == 400
