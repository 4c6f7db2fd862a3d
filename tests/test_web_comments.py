"""Comments on the paper page through the ASGI client: sanitised Markdown with math, editing and
deleting your own, admins hiding any."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.db.models import Comment
from tests.helpers import PAPER, count, post, sign_in_as


def test_comments_are_sanitised_and_render_math(
    client: TestClient, engine: Engine, community_papers: None
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
    client: TestClient, engine: Engine, community_papers: None
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


def test_edit_and_delete_own_comment(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, f"/papers/{PAPER}/comments", {"body": "first draft"})
    edited = post(client, f"/papers/{PAPER}/comments/1/edit", {"body": "second draft"})
    assert edited.status_code == 303
    page = client.get(f"/papers/{PAPER}").text
    assert "second draft" in page and "edited" in page
    assert post(client, f"/papers/{PAPER}/comments/1/delete").status_code == 303
    assert "second draft" not in client.get(f"/papers/{PAPER}").text


def test_admin_hides_a_comment(client: TestClient, engine: Engine, community_papers: None) -> None:
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


def test_anonymous_comment_goes_to_sign_in(client: TestClient, community_papers: None) -> None:
    refused = post(client, f"/papers/{PAPER}/comments", {"body": "hi"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login?next=")
