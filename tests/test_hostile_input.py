"""Hostile values in any route's parameters give a 4xx with one sentence, never a 500 or a
traceback in the log (issue 15): huge and Unicode integers, calendar edges, control characters.

Both walks take every route from ``app.routes`` (so a new route is covered the day it is added)
and send a valid CSRF token, so the requests reach the routes' own parsing:

- ``test_each_parameter_refuses_each_hostile_value``: every parameter of every route gets each
  value of :data:`HOSTILE` in turn while the others are valid (signed in), so one bad value is
  never hidden behind another;
- ``test_every_route_survives_hostile_values``: hypothesis mixes valid, hostile and random values
  in all parameters at once, signed in or not, a bounded number of examples per route.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.services import ratelimit
from dailypapers.services.accounts import add_user, create_api_token, create_session
from dailypapers.services.collections import create_collection
from dailypapers.services.comments import add_comment
from dailypapers.services.subscriptions import (
    add_saved_search,
    confirm,
    confirm_token,
    make_token,
    subscribe,
)
from dailypapers.web.app import create_app
from tests.helpers import add_papers, record

PAPER = "2506.00001"
HUGE = "99999999999999999999999"
# each in turn in every parameter (test_each_parameter_refuses_each_hostile_value)
SWEEP = [
    HUGE,  # above 2^63-1: SQLite cannot bind it
    str(2**63),
    "0",
    "²",  # str.isdigit() says yes, int() says no
    "٣",  # a digit to int(), not to the date parsers
    "",
    "x" * 5_000,
    "\x00\r\nSet-Cookie: x=1",
    "9999-12",  # its next month is past date.max
    "0001-01",  # its previous month is before date.min
    "9999-W52",
    f"{HUGE}.0.A",  # a digest token naming a row id SQLite cannot hold
    "<script>💥</script>",
]
# ... and mixed with these and random values by hypothesis
HOSTILE = SWEEP + [
    "-1",
    "１２",
    "1e309",
    "0001-01-01",
    "٢٠٢٥-٠٦-٢٠",
    "²1.0.A",
]
RANDOM = st.one_of(st.text(max_size=40), st.integers(min_value=-(2**70), max_value=2**70).map(str))
EXAMPLES_PER_ROUTE = 15

# A valid value for every parameter name the routes use (fixture ids and tokens are added by
# the fixture); a new parameter name fails test_every_parameter_has_a_valid_value until added.
VALID = {
    "arxiv_id": PAPER,
    "arxiv": PAPER,
    "arxivId": PAPER,
    "id": PAPER,
    "day": "2025-06-20",
    "date": "2025-06-20",
    "week": "2025-W25",
    "month": "2025-06",
    "from": "2025-06-01",
    "to": "2025-06-30",
    "period": "day:2025-06-20",
    "category": "cs.LG",
    "add_category": "cs.LG",
    "categories": "cs.LG",
    "more_categories": "stat.ML",
    "p": "0",
    "limit": "10",
    "sort": "upvotes",
    "feed": "all",
    "view": "all",
    "kind": "more",
    "days": "7",
    "ids": "2506.00001",
    "file": "2506.00001",
    "format": "bibtex",
    "facets": "1",
    "q": "transformers",
    "add_q": "transformers",
    "submitter": "ada",
    "cursor": "MjAyNS0wNi0xN3wyNTA2LjAwMDAx",  # 2025-06-17|2506.00001
    "next": "/",
    "for": "upvote",
    "email": "reader@example.org",
    "name": "Reading",
    "display_name": "Ada",
    "new_name": "Later",
    "description": "papers",
    "note": "a note",
    "body": "a comment",
    "public": "true",
    "hidden": "true",
    "trending": "true",
    "frequency": "daily",
    "slug": "sakana",
    "organization": "sakana",
    "organizationId": "sakana",
    "url": "https://sakana.example.org",
    "logo": "https://sakana.example.org/logo.png",
    "user_id": "1",
    "claim_id": "1",
    "position": "0",
    "decision": "approve",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    path_params: tuple[str, ...]
    query: tuple[str, ...]
    form: tuple[str, ...]
    json_model: type[BaseModel] | None

    @property
    def json_fields(self) -> tuple[str, ...]:
        if self.json_model is None:
            return ()
        return tuple(info.alias or name for name, info in self.json_model.model_fields.items())

    @property
    def params(self) -> tuple[str, ...]:
        return self.path_params + self.query + self.form + self.json_fields


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute under ``routes`` (routers included into the app are walked)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # an included router
            context = getattr(route, "include_context", None)
            yield from api_routes(
                route.original_router.routes, prefix + getattr(context, "prefix", "")
            )


def endpoints(app: Any) -> list[Endpoint]:
    """Every route and method of the app with its parameters."""
    found = []
    for path, route in api_routes(app.routes):
        names: dict[str, set[str]] = {"path": set(), "query": set(), "form": set()}
        json_model = None
        stack = [route.dependant]
        while stack:
            dep = stack.pop()
            names["path"] |= {p.alias for p in dep.path_params}
            names["query"] |= {p.alias for p in dep.query_params}
            for param in dep.body_params:
                annotation = param.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    json_model = annotation
                else:
                    names["form"].add(param.alias)
            stack.extend(dep.dependencies)
        for method in sorted(route.methods):
            found.append(
                Endpoint(
                    method,
                    path,
                    tuple(sorted(names["path"])),
                    tuple(sorted(names["query"])),
                    tuple(sorted(names["form"])),
                    json_model,
                )
            )
    return sorted(found, key=_destroys)


def _destroys(endpoint: Endpoint) -> tuple[bool, bool]:
    """Sort key: routes that remove the fixture's rows go last, signing out at the very end."""
    removes = endpoint.path.endswith(("/delete", "/revoke", "/remove", "/unsubscribe"))
    return endpoint.path == "/logout", removes


@pytest.fixture
def hostile_client(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Visitor]:
    # room for every request: a 429 is fine, but it would stop the requests short of the routes
    for name, limit in list(ratelimit.LIMITS.items()):
        monkeypatch.setitem(ratelimit.LIMITS, name, ratelimit.Limit(10**9, limit.window_s))
    add_papers(engine, record(PAPER, "2025-06-20"), record("2506.00002", "2025-06-19"))
    secret = settings.resolved_secret_key()
    with Session(engine) as session:
        user = add_user(session, "ada@example.org", admin=True)
        raw = create_session(session, user)
        token, _ = create_api_token(session, user, "script")
        collection = create_collection(session, user, "Reading", public=False)
        comment = add_comment(session, user, PAPER, "a comment")
        sub = confirm(session, subscribe(session, "reader@example.org").subscription)
        search = add_saved_search(session, sub, "transformers")
        session.commit()
        ids = {"collection_id": collection.id, "collection": collection.id}
        ids |= {"comment_id": comment.id, "token_id": token.id, "search_id": search.id}
        valid = VALID | {name: str(value) for name, value in ids.items()}
        valid["token"] = make_token(secret, sub, "manage")
        tokens = {
            "/digest/confirm": confirm_token(secret, sub),
            "/digest/unsubscribe": make_token(secret, sub, "unsubscribe"),
        }
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Visitor(client, raw, valid, tokens)


class Visitor:
    """The test client as an anonymous or a signed-in browser, each with its own CSRF token,
    and the valid values of the fixture's rows."""

    def __init__(
        self, client: TestClient, session_cookie: str, valid: dict[str, str], tokens: dict[str, str]
    ) -> None:
        self.client = client
        self.session_cookie = session_cookie
        self.valid = valid
        self.tokens_by_path = tokens  # digest links of another purpose than "manage"
        self.csrf: dict[bool, str] = {}

    def valid_value(self, endpoint: Endpoint, name: str) -> str:
        if name == "token" and endpoint.path in self.tokens_by_path:
            return self.tokens_by_path[endpoint.path]
        return self.valid[name]

    def be(self, signed_in: bool) -> dict[str, str]:
        """Headers of that browser: its cookies and its CSRF token (the one its pages carry).

        Cookies go in a header of their own; the client's cookie jar is emptied before each
        request, so what one request's answer set never leaks into the next."""
        cookies = {"dp_session": self.session_cookie} if signed_in else {}
        if signed_in not in self.csrf:
            self.client.cookies.clear()
            page = self.client.get("/login", headers={"Cookie": _cookie_header(cookies)})
            self.csrf[signed_in] = page.cookies["dp_csrf"]
        self.client.cookies.clear()
        cookies["dp_csrf"] = self.csrf[signed_in]
        return {"Cookie": _cookie_header(cookies), "X-CSRF-Token": self.csrf[signed_in]}

    def send(
        self, endpoint: Endpoint, values: dict[str, Any], *, signed_in: bool
    ) -> tuple[Any, str]:
        """Send ``values`` as the endpoint's parameters; the answer and a description."""
        path = _fill(endpoint.path, {name: str(values[name]) for name in endpoint.path_params})
        query = {name: values[name] for name in endpoint.query if name in values}
        request: dict[str, Any] = {"params": query, "headers": self.be(signed_in)}
        if endpoint.form:
            request["data"] = {name: values[name] for name in endpoint.form if name in values}
        if endpoint.json_model is not None:
            request["json"] = {name: values[name] for name in endpoint.json_fields}
        answer = self.client.request(endpoint.method, path, follow_redirects=False, **request)
        return answer, f"{endpoint.method} {path} {request}"


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _fill(template: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, _, kind = match.group(1).partition(":")
        return quote(values[name], safe="/" if kind == "path" else "")

    return re.sub(r"\{([^}]+)\}", one, template)


def _check(answer: Any, where: str, caplog: pytest.LogCaptureFixture) -> None:
    assert answer.status_code < 500, f"{answer.status_code} for {where}: {answer.text[:300]}"
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, f"a traceback in the log for {where}"
    caplog.clear()


def test_every_parameter_has_a_valid_value(hostile_client: Visitor) -> None:
    names = {name for e in endpoints(hostile_client.client.app) for name in e.params}
    assert names - set(hostile_client.valid) == set(), "add a valid value to VALID"


def test_each_parameter_refuses_each_hostile_value(
    hostile_client: Visitor, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = hostile_client
    with caplog.at_level(logging.WARNING):
        for endpoint in endpoints(visitor.client.app):
            valid = {name: visitor.valid_value(endpoint, name) for name in endpoint.params}
            for name in endpoint.params:
                for value in SWEEP:
                    answer, where = visitor.send(endpoint, valid | {name: value}, signed_in=True)
                    _check(answer, where, caplog)


def test_every_route_survives_hostile_values(
    hostile_client: Visitor, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = hostile_client
    all_endpoints = endpoints(visitor.client.app)
    assert len(all_endpoints) > 40, "the route walk found too few routes"
    hostile = st.one_of(st.sampled_from(HOSTILE), RANDOM)
    json_hostile = st.one_of(hostile, st.integers(), st.none(), st.lists(st.integers()))

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(endpoint: Endpoint, data: st.DataObject) -> None:
        values: dict[str, Any] = {}
        for name in endpoint.params:
            choice = data.draw(st.sampled_from(["valid", "hostile", "absent"]), label=name)
            if choice == "valid":
                values[name] = visitor.valid_value(endpoint, name)
            elif choice == "hostile" or name in endpoint.path_params + endpoint.json_fields:
                kind = json_hostile if name in endpoint.json_fields else hostile
                values[name] = data.draw(kind, label=name)
        signed_in = data.draw(st.booleans(), label="signed in")
        answer, where = visitor.send(endpoint, values, signed_in=signed_in)
        _check(answer, where, caplog)

    with caplog.at_level(logging.WARNING):
        for endpoint in all_endpoints:
            check(endpoint)


# --- the cases the review found, one by one ---------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/collections/{HUGE}",
        f"/collections/{HUGE}.atom",
        "/papers/month/9999-12",
        "/papers/month/0001-01",
        "/papers/week/9999-W52",
        "/papers/week/0001-W01",
        "/api/daily_papers?month=9999-12",
        "/api/daily_papers?week=9999-W52",
        "/api/daily_papers?month=0001-01",
        "/feeds/daily.atom?month=9999-12",
        "/feeds/daily.atom?week=9999-W52",
        f"/digest/manage?token={HUGE}.0.A",
        "/digest/manage?token=²1.0.A",
        f"/digest/view?token={HUGE}.0.A",
    ],
)
def test_known_500s_are_clear_4xx(hostile_client: Visitor, path: str) -> None:
    answer = hostile_client.client.get(path, headers=hostile_client.be(signed_in=False))
    assert 400 <= answer.status_code < 500, (path, answer.status_code)
    assert "internal error" not in answer.text and "went wrong" not in answer.text


@pytest.mark.parametrize(
    "path, form",
    [
        (f"/papers/{PAPER}/comments/{HUGE}/edit", {"body": "x"}),
        (f"/papers/{PAPER}/comments/{HUGE}/delete", {}),
        (f"/papers/{PAPER}/comments/{HUGE}/hide", {}),
        (f"/settings/tokens/{HUGE}/revoke", {}),
        (f"/collections/{HUGE}/edit", {"name": "x"}),
        (f"/collections/{HUGE}/items", {"arxiv": PAPER}),
        (f"/papers/{PAPER}/save", {"collection": HUGE}),
        (f"/papers/{PAPER}/save", {"collection": "²"}),
        (f"/digest/searches/{HUGE}/remove", {"token": "1.0.A"}),
    ],
)
def test_huge_and_unicode_ids_in_writes_are_4xx(
    hostile_client: Visitor, path: str, form: dict[str, str]
) -> None:
    headers = hostile_client.be(signed_in=True)
    answer = hostile_client.client.post(path, data=form, headers=headers, follow_redirects=False)
    assert 400 <= answer.status_code < 500, (path, answer.status_code, answer.text[:200])
