"""A web request owns its one transaction (web/deps.py): a write commits before its answer is
sent, a route that raises leaves nothing behind, a 400 form answer keeps its rate-limit counts,
mail goes out only after the commit, and a GET that writes is an error under the tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.db.models import Collection, Comment, LoginToken, RateEvent, Subscription
from dailypapers.mail import Mail
from dailypapers.services.ratelimit import check
from dailypapers.web.deps import RequestRoute, SessionDep, WriteOnRead
from tests.helpers import PAPER, MailBox, count, csrf, post, sign_in_as


def _rows(engine: Engine, table: str) -> int:
    """Committed rows, read on a connection of the test's own engine (not the app's pool)."""
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


class SeenAtAnswer:
    """ASGI wrapper: when a response starts, how many rows of ``table`` another connection sees."""

    def __init__(self, app: ASGIApp, engine: Engine, table: str) -> None:
        self.app, self.engine, self.table = app, engine, table
        self.seen: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(_rows(self.engine, self.table))
            await send(message)

        await self.app(scope, receive, watch if scope["type"] == "http" else send)


def test_a_write_is_committed_before_its_answer_is_sent(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    spy = SeenAtAnswer(client.app, engine, "votes")
    with TestClient(spy) as browser:
        sign_in_as(browser, engine, "ada@example.org")
        headers = {"HX-Request": "true", "X-CSRF-Token": csrf(browser)}
        spy.seen.clear()
        assert browser.post(f"/papers/{PAPER}/upvote", headers=headers).status_code == 200
        assert browser.post(f"/papers/{PAPER}/upvote", headers=headers).status_code == 200
        assert browser.post(f"/api/papers/{PAPER}/upvote", headers=headers).status_code == 200
    assert spy.seen == [1, 0, 1]


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps it whole)
            yield from _api_routes(route.original_router.routes)


def test_every_route_has_the_route_class_that_commits(client: TestClient) -> None:
    """No router forgets the route class that commits as the route returns."""
    routes = list(_api_routes(client.app.routes))  # type: ignore[attr-defined]
    assert len(routes) > 30
    assert [r.path for r in routes if not isinstance(r, RequestRoute)] == []


def test_a_write_commits_as_its_route_returns_before_its_answer_is_built(
    client: TestClient,
    engine: Engine,
    community_papers: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a write holds the process's write lock it must not wait for another thread of the
    pool, where FastAPI validates the API's answer: the commit comes first, in the route's thread
    (when all the pool's threads were routes waiting for that lock, votes waited 10-20 s)."""
    events: list[str] = []
    real_commit, real_serialize = Session.commit, fastapi.routing.serialize_response

    def committing(self: Session) -> None:
        events.append("commit")
        real_commit(self)

    async def serializing(**kwargs: Any) -> Any:
        events.append("answer built")
        return await real_serialize(**kwargs)

    sign_in_as(client, engine, "ada@example.org")
    monkeypatch.setattr(Session, "commit", committing)
    monkeypatch.setattr(fastapi.routing, "serialize_response", serializing)
    answer = client.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": csrf(client)})
    assert answer.json()["upvotes"] == 1
    assert events == ["commit", "answer built"]


def test_a_route_that_raises_after_writing_leaves_nothing_behind(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    # the new collection is written (and flushed for its id), then the note is refused
    refused = post(
        client,
        f"/papers/{PAPER}/save",
        {"collection": "new", "new_name": "Later", "note": "x" * 3000},
    )
    assert refused.status_code == 400 and "at most 2,000 characters" in refused.text
    empty = post(client, f"/papers/{PAPER}/comments", {"body": "   "})
    assert empty.status_code == 400
    unknown = post(client, "/papers/2506.99999/comments", {"body": "hello"})
    assert unknown.status_code == 404
    assert count(engine, Collection) == count(engine, Comment) == 0
    assert count(engine, RateEvent) == 0  # its rate-limit counts went with it


def test_a_400_form_answer_commits_its_rate_limit_counts(
    client: TestClient, engine: Engine, mails: MailBox
) -> None:
    """Routes that answer a ServiceError with their form return normally: the attempt counts."""
    sign_in_as(client, engine, "ada@example.org")
    assert post(client, "/submit", {"arxiv": "not a paper"}).status_code == 400
    assert post(client, "/login", {"email": "not an address"}).status_code == 400
    assert post(client, "/subscribe", {"email": "not an address"}).status_code == 400
    with Session(engine) as session:
        keys = set(session.scalars(select(RateEvent.key)))
    assert {k.split(":")[0] for k in keys} == {
        "submit_user",
        "write_ip",
        "login_ip",
        "subscribe_ip",
    }
    assert mails.sent == []


class CommittedAtSend(MailBox):
    """A mail box that also records whether the sign-in link or subscription was committed
    (seen from another connection) at the moment the mail is handed over."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        self.committed: list[bool] = []

    def send(self, mail: Mail) -> None:
        rows = _rows(self.engine, "login_tokens") + _rows(self.engine, "subscriptions")
        self.committed.append(rows > 0)
        super().send(mail)


FORMS = [("/login", {"email": "ada@example.org"}), ("/subscribe", {"email": "ada@example.org"})]


@pytest.mark.parametrize(("url", "form"), FORMS)
def test_mail_goes_out_only_after_the_commit(
    client: TestClient, engine: Engine, url: str, form: dict[str, str]
) -> None:
    box = CommittedAtSend(engine)
    client.app.state.mail_sender = box  # type: ignore[attr-defined]
    assert post(client, url, form).status_code == 200
    assert box.committed == [True]


@pytest.mark.parametrize(("url", "form"), FORMS)
def test_a_failed_commit_is_a_500_and_mails_nothing(
    client: TestClient,
    engine: Engine,
    mails: MailBox,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    form: dict[str, str],
) -> None:
    def refuse(self: Session) -> None:
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    with TestClient(client.app, raise_server_exceptions=False) as browser:
        token = csrf(browser)
        monkeypatch.setattr(Session, "commit", refuse)
        answer = browser.post(url, data={"csrf_token": token, **form}, follow_redirects=False)
    assert answer.status_code == 500 and "Traceback" not in answer.text
    assert mails.sent == []
    assert count(engine, LoginToken) == count(engine, Subscription) == count(engine, RateEvent) == 0


def _writes_on_get(session: SessionDep, how: str) -> dict[str, Any]:
    if how == "statement":
        check(session, "write_ip", "203.0.113.9")
    else:  # an ORM change never flushed
        session.add(RateEvent(key="write_ip:203.0.113.9", window_start=0, count=1))
    return {}


@pytest.mark.parametrize("how", ["statement", "unflushed"])
def test_a_get_that_writes_is_loud_and_rolled_back(
    client: TestClient, engine: Engine, how: str
) -> None:
    client.app.add_api_route("/test/writes-on-get", _writes_on_get, methods=["GET"])  # type: ignore[attr-defined]
    with pytest.raises(WriteOnRead, match="GET /test/writes-on-get wrote to the database"):
        client.get("/test/writes-on-get", params={"how": how})  # an error under the tests
    with pytest.warns(WriteOnRead):  # elsewhere a warning; the request is answered
        assert client.get("/test/writes-on-get", params={"how": how}).status_code == 200
    assert count(engine, RateEvent) == 0
