"""Community pages and API through the ASGI client: sign-in, CSRF, votes, submissions, comments,
collections, tokens and rate limits, on a fresh database per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from huggingface_hub.hf_api import PaperInfo
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Comment, LoginToken, Paper, UserSession, Vote
from dailypapers.mail import Mail
from dailypapers.services import ratelimit
from dailypapers.services.accounts import (
    add_user,
    create_api_token,
    create_session,
    request_login,
)
from dailypapers.web.app import create_app
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
    """The browser's CSRF token for its current session (tokens are bound to the session: a page
    sets a new one when the session changed; under https the cookie is ``__Host-dp_csrf``)."""
    client.get("/login")
    name = "dp_csrf" if "dp_csrf" in client.cookies else "__Host-dp_csrf"
    return client.cookies[name]


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


# --- CSRF and safe methods ----------------------------------------------------------------------


def test_csrf_missing_or_wrong_is_403_and_changes_nothing(
    client: TestClient, engine: Engine, mails: MailBox, papers: None
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


def test_a_token_planted_from_an_anonymous_visit_does_not_work_with_a_session(
    client: TestClient, settings: Any, engine: Engine, papers: None
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


def test_get_requests_change_nothing(client: TestClient, engine: Engine, papers: None) -> None:
    sign_in_as(client, engine, "ada@example.org")
    with Session(engine) as session:
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


# --- upvotes ------------------------------------------------------------------------------------


def test_vote_toggle_without_javascript(client: TestClient, engine: Engine, papers: None) -> None:
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
    client: TestClient, engine: Engine, papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    headers = {"HX-Request": "true", "X-CSRF-Token": csrf(client)}
    up = client.post(f"/papers/{PAPER}/upvote", headers=headers)
    assert up.status_code == 200 and "<html" not in up.text
    assert up.text.lstrip().startswith('<button type="submit" form="vote-form"')
    assert 'aria-pressed="true"' in up.text and '<span class="count">1</span>' in up.text
    down = client.post(f"/papers/{PAPER}/upvote", headers=headers)
    assert 'aria-pressed="false"' in down.text and '<span class="count">0</span>' in down.text


def test_anonymous_vote_goes_to_sign_in(client: TestClient, papers: None) -> None:
    feed = "http://testserver/papers/date/2025-06-20"
    plain = post(client, f"/papers/{PAPER}/upvote", headers={"Referer": feed})
    assert plain.status_code == 303
    assert plain.headers["location"] == "/login?next=/papers/date/2025-06-20"
    htmx = client.post(
        f"/papers/{PAPER}/upvote",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(client), "Referer": feed},
    )
    assert htmx.headers["hx-redirect"] == "/login?next=/papers/date/2025-06-20"


def test_api_upvote_with_bearer_token_and_revoked_token(
    client: TestClient, engine: Engine, papers: None
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


def test_api_index_submits_a_paper(client: TestClient, engine: Engine, papers: None) -> None:
    sign_in_as(client, engine, "ada@example.org", name="Ada Lovelace")
    token = re.search(r'value="(dp_[^"]+)"', post(client, "/settings/tokens").text).group(1)  # type: ignore[union-attr]
    auth = {"Authorization": f"Bearer {token}"}
    bearer = TestClient(client.app)
    known = bearer.post("/api/papers/index", json={"arxivId": "2506.00003"}, headers=auth)
    assert known.status_code == 200 and known.json()["id"] == "2506.00003"
    assert known.json()["submittedOnDailyBy"]["fullname"] == "Ada Lovelace"
    unknown = bearer.post("/api/papers/index", json={"arxivId": "2507.12345v2"}, headers=auth)
    assert unknown.status_code == 202 and unknown.json() == {
        "arxivId": "2507.12345",
        "status": "pending",
    }
    bad = bearer.post("/api/papers/index", json={"arxivId": "hello"}, headers=auth)
    assert bad.status_code == 400 and "error" in bad.json()
    assert bearer.post("/api/papers/index", json={}, headers=auth).status_code == 400


# --- submissions --------------------------------------------------------------------------------


def test_submission_shows_in_the_days_feed(
    client: TestClient, engine: Engine, papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org", name="Ada <Lovelace>")
    form = client.get("/submit")
    assert form.status_code == 200 and '<label for="arxiv">' in form.text
    done = post(client, "/submit", {"arxiv": "https://arxiv.org/abs/2506.00003v1"})
    today = datetime.now(UTC).date().isoformat()
    assert done.status_code == 303 and done.headers["location"] == f"/papers/date/{today}"
    page = client.get(done.headers["location"]).text
    assert "submitted by Ada &lt;Lovelace&gt;" in page and "An older paper" in page
    assert "2506.00003 is in this day&#39;s feed" in page
    entries = client.get("/api/daily_papers", params={"date": today}).json()
    assert PaperInfo(**entries[0]).submitted_by.fullname == "Ada <Lovelace>"  # type: ignore[union-attr]
    bad = post(client, "/submit", {"arxiv": "not a paper"})
    assert bad.status_code == 400 and "not an arXiv id" in unescape(bad.text)


def test_submission_of_an_unknown_paper_is_pending(client: TestClient, engine: Engine) -> None:
    sign_in_as(client, engine, "ada@example.org")
    done = post(client, "/submit", {"arxiv": "2507.00042"})
    page = client.get(done.headers["location"]).text
    assert "fetched from arXiv" in page


def test_submit_needs_sign_in(client: TestClient) -> None:
    page = client.get("/submit", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/submit"


# --- comments -----------------------------------------------------------------------------------


def test_comments_are_sanitised_and_render_math(
    client: TestClient, engine: Engine, papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    body = "<script>alert(1)</script> see [this](javascript:alert(2)) and $x^2$ **bold**"
    done = post(client, f"/papers/{PAPER}/comments", {"body": body})
    assert done.status_code == 303 and "#comment-" in done.headers["location"]
    page = client.get(f"/papers/{PAPER}").text
    section = page.split('id="comments"', 1)[1]
    assert "<script>alert" not in section and 'href="javascript:' not in section
    assert "<msup>" in section and "<strong>bold</strong>" in section
    assert '<label for="comment-body">' in section
    feed = client.get("/papers/date/2025-06-20").text
    assert f'href="/papers/{PAPER}#comments">1 comment<' in feed
    entry = next(
        e
        for e in client.get("/api/daily_papers", params={"date": "2025-06-20"}).json()
        if e["paper"]["id"] == PAPER
    )
    assert entry["numComments"] == 1 and entry["paper"]["numComments"] == 1
    client.cookies.delete("dp_session")
    anonymous = client.get(f"/papers/{PAPER}").text
    assert "<msup>" in anonymous and "to comment" in anonymous


def test_editing_another_users_comment_is_403(
    client: TestClient, engine: Engine, papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, f"/papers/{PAPER}/comments", {"body": "mine"})
    comment_id = count(engine, Comment)
    own_page = client.get(f"/papers/{PAPER}").text
    assert f"/comments/{comment_id}/edit" in own_page

    sign_in_as(client, engine, "eve@example.org")
    assert f"/comments/{comment_id}/edit" not in client.get(f"/papers/{PAPER}").text
    edit = post(client, f"/papers/{PAPER}/comments/{comment_id}/edit", {"body": "hacked"})
    assert edit.status_code == 403
    delete = post(client, f"/papers/{PAPER}/comments/{comment_id}/delete")
    assert delete.status_code == 403
    hide = post(client, f"/papers/{PAPER}/comments/{comment_id}/hide")
    assert hide.status_code == 403
    with Session(engine) as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None and comment.body == "mine" and comment.deleted_at is None


def test_edit_and_delete_own_comment(client: TestClient, engine: Engine, papers: None) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, f"/papers/{PAPER}/comments", {"body": "first draft"})
    edited = post(client, f"/papers/{PAPER}/comments/1/edit", {"body": "second draft"})
    assert edited.status_code == 303
    page = client.get(f"/papers/{PAPER}").text
    assert "second draft" in page and "edited" in page
    assert post(client, f"/papers/{PAPER}/comments/1/delete").status_code == 303
    assert "second draft" not in client.get(f"/papers/{PAPER}").text


def test_admin_hides_a_comment(client: TestClient, engine: Engine, papers: None) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, f"/papers/{PAPER}/comments", {"body": "spam spam spam"})
    sign_in_as(client, engine, "admin@example.org", admin=True)
    assert post(client, f"/papers/{PAPER}/comments/1/hide").status_code == 303
    admin_view = client.get(f"/papers/{PAPER}").text
    assert "spam spam spam" in admin_view and "hidden by a moderator" in admin_view
    client.cookies.delete("dp_session")
    assert "spam spam spam" not in client.get(f"/papers/{PAPER}").text
    sign_in_as(client, engine, "admin2@example.org", admin=True)
    post(client, f"/papers/{PAPER}/comments/1/hide", {"hidden": "false"})
    client.cookies.delete("dp_session")
    assert "spam spam spam" in client.get(f"/papers/{PAPER}").text


def test_anonymous_comment_goes_to_sign_in(client: TestClient, papers: None) -> None:
    refused = post(client, f"/papers/{PAPER}/comments", {"body": "hi"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login?next=")


# --- collections --------------------------------------------------------------------------------


def test_save_to_a_new_collection_from_a_card(
    client: TestClient, engine: Engine, papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    partial = client.get(f"/papers/{PAPER}/save", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "<label for=" in partial.text
    page = client.get(f"/papers/{PAPER}/save")
    assert "<html" in page.text and "New collection" in page.text
    saved = post(
        client,
        f"/papers/{PAPER}/save",
        {"collection": "new", "new_name": "Reading <list>", "note": "read §3 first"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/collections/1"
    page = client.get("/collections/1").text
    assert "Reading &lt;list&gt;" in page and "read §3 first" in page and "Attention for" in page
    again = client.post(
        f"/papers/{OTHER}/save",
        data={"collection": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)},
    )
    assert again.status_code == 200 and 'href="/collections/1"' in again.text
    assert "Sparse mixtures" in client.get("/collections/1").text
    assert "Reading &lt;list&gt;" in client.get("/collections").text


def test_private_collections_stay_private(client: TestClient, engine: Engine, papers: None) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, "/collections", {"name": "Secret list", "description": "mine"})
    post(client, "/collections/1/items", {"arxiv": PAPER, "note": "a note"})
    assert "Secret list" in client.get("/collections/1").text

    sign_in_as(client, engine, "eve@example.org")
    assert client.get("/collections/1").status_code == 404
    assert client.get("/collections/1.atom").status_code == 404
    # every write answers a private collection exactly as it answers a missing one
    writes = [
        ("/collections/{}/edit", {"name": "pwned"}),
        ("/collections/{}/delete", {}),
        ("/collections/{}/items", {"arxiv": OTHER}),
        ("/collections/{}/items/remove", {"arxiv": PAPER}),
        (f"/papers/{OTHER}/save", {"collection": "{}"}),
    ]
    for url, form in writes:
        answers = []
        for target in ("1", "77"):  # Ada's private list, and no list at all
            fields = {name: value.format(target) for name, value in form.items()}
            answer = post(client, url.format(target), fields)
            answers.append((answer.status_code, answer.text.replace(f"collection {target}", "")))
        assert answers[0] == answers[1] and answers[0][0] == 404, url
    client.cookies.delete("dp_session")
    assert client.get("/collections/1").status_code == 404
    sign_in_as(client, engine, "ada@example.org")
    assert (
        "Secret list" in client.get("/collections/1").text
        and "a note" in client.get("/collections/1").text
    )


def test_public_collection_page_and_atom_feed(
    client: TestClient, engine: Engine, papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, "/collections", {"name": "Good <reads>", "public": "true"})
    post(client, "/collections/1/items", {"arxiv": PAPER})
    post(client, "/collections/1/items", {"arxiv": OTHER})
    removed = post(client, "/collections/1/items/remove", {"arxiv": OTHER})
    assert removed.status_code == 303

    sign_in_as(client, engine, "eve@example.org")
    page = client.get("/collections/1")
    assert page.status_code == 200 and "Good &lt;reads&gt;" in page.text
    assert '<p class="owner">by ada</p>' in page.text
    assert "Attention for everyone" in page.text and "Sparse mixtures" not in page.text
    assert "Edit collection" not in page.text
    assert post(client, "/collections/1/edit", {"name": "mine now"}).status_code == 403
    assert post(client, "/collections/1/items", {"arxiv": OTHER}).status_code == 403

    atom = client.get("/collections/1.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo and parsed.feed.title.endswith("Good <reads>")
    assert [entry.title for entry in parsed.entries] == ["Attention for everyone"]


# --- rate limits, header, page cost --------------------------------------------------------------


def test_too_many_sign_in_requests_get_429(client: TestClient, mails: MailBox) -> None:
    for _ in range(ratelimit.LIMITS["login_email"].count):
        assert post(client, "/login", {"email": "ada@example.org"}).status_code == 200
    refused = post(client, "/login", {"email": "ada@example.org"})
    assert refused.status_code == 429 and "too many requests" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert len(mails.sent) == ratelimit.LIMITS["login_email"].count


def test_too_many_votes_get_429_with_retry_after(
    client: TestClient, engine: Engine, papers: None, monkeypatch: pytest.MonkeyPatch
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


def test_header_menu_and_settings(client: TestClient, engine: Engine) -> None:
    assert 'href="/login?next=/"' in client.get("/").text
    sign_in_as(client, engine, "grace.hopper@example.org")
    assert ">GH</span>" in client.get("/settings").text
    saved = post(client, "/settings", {"display_name": "  Ada Lovelace "})
    assert saved.status_code == 303
    page = client.get("/settings").text
    assert ">AL</span>" in page and "Your profile is saved." in page
    assert post(client, "/settings", {"display_name": " "}).status_code == 400


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


def test_reading_writes_nothing(client: TestClient, engine: Engine, papers: None) -> None:
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
        version = conn.exec_driver_sql("PRAGMA data_version").scalar()
        for url in reads:
            assert client.get(url).status_code == 200, url
            assert client.get(url, headers=bearer).status_code == 200, url
        # data_version changes whenever another connection has committed since the last call
        assert conn.exec_driver_sql("PRAGMA data_version").scalar() == version
