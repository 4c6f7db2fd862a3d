"""The per-process cache of anonymous feed pages: hits, freshness after any commit, per-browser
CSRF tokens, and the requests it must never answer from memory."""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send

from dailypapers.config import Settings
from dailypapers.db.changes import SqliteDataVersion
from dailypapers.services.accounts import add_user, create_api_token, create_session
from dailypapers.web.app import create_app, create_served_app
from dailypapers.web.page_cache import Entry, PageCache, PageStore
from tests.helpers import add_papers, record, run_async

PAPER = "2506.00001"


@pytest.fixture
def papers(engine: Engine) -> None:
    add_papers(
        engine,
        record(PAPER, "2025-06-20", title="Attention for everyone"),
        record("2506.00002", "2025-06-20", title="Sparse mixtures"),
    )


def store(client: TestClient) -> PageStore:
    cache: PageStore = client.app.state.page_cache  # type: ignore[attr-defined]
    return cache


def token_for(engine: Engine, email: str) -> str:
    with Session(engine) as session:
        _token, raw = create_api_token(session, add_user(session, email), "t")
        session.commit()
    return raw


def upvotes_in_api(client: TestClient) -> int:
    entries = client.get("/api/daily_papers").json()
    return int(next(e["paper"]["upvotes"] for e in entries if e["paper"]["id"] == PAPER))


def test_second_read_is_kept_and_a_vote_shows_at_once(
    client: TestClient, engine: Engine, papers: None
) -> None:
    first = client.get("/api/daily_papers")
    again = client.get("/api/daily_papers")
    assert again.content == first.content
    assert [r.headers["x-page-cache"] for r in (first, again)] == ["miss", "hit"]
    assert (store(client).hits, store(client).misses) == (1, 1)

    bearer = {"Authorization": f"Bearer {token_for(engine, 'v@example.org')}"}
    for _ in range(3):  # vote, read, un-vote, read: the reader never sees an old count
        assert client.post(f"/api/papers/{PAPER}/upvote", headers=bearer).status_code == 200
        assert upvotes_in_api(client) == 1
        assert 'class="count">1<' in client.get("/").text
        assert client.delete(f"/api/papers/{PAPER}/upvote", headers=bearer).status_code == 200
        assert upvotes_in_api(client) == 0


def test_a_commit_from_elsewhere_is_seen(client: TestClient, engine: Engine, papers: None) -> None:
    """An import through another engine (the CLI, another worker) makes the next page fresh."""
    assert "A late paper" not in client.get("/papers/date/2025-06-20").text
    add_papers(engine, record("2506.00003", "2025-06-20", title="A late paper"))
    assert "A late paper" in client.get("/papers/date/2025-06-20").text


def test_each_browser_gets_its_own_csrf_token(client: TestClient, papers: None) -> None:
    pages = []
    for _ in range(3):  # a miss, then hits, each for a new browser
        client.cookies.clear()
        page = client.get("/")
        own = client.cookies["dp_csrf"]
        assert f'"X-CSRF-Token": "{own}"' in page.text
        tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', page.text))
        assert tokens == {own}
        pages.append(page.text.replace(own, "TOKEN"))
    assert pages[0] == pages[1] == pages[2] and store(client).hits == 2
    error = client.get("/papers/date/2025-13-01")  # error pages get the real token too
    assert error.status_code == 400 and client.cookies["dp_csrf"] in error.text


def test_signed_in_flash_and_htmx_requests_are_never_kept(
    client: TestClient, engine: Engine, papers: None
) -> None:
    client.get("/")
    with Session(engine) as session:
        raw = create_session(session, add_user(session, "s@example.org", display_name="Sam S"))
        session.commit()
    client.cookies.set("dp_session", raw)
    assert "Account menu of Sam S" in client.get("/").text
    del client.cookies["dp_session"]
    client.cookies.set("dp_flash", "signed-out%7C")
    assert "You are signed out." in client.get("/").text
    del client.cookies["dp_flash"]
    client.get("/", headers={"HX-Request": "true"})
    client.get("/papers/trending", headers={"Authorization": "Bearer x"})  # API-style: kept
    assert (store(client).hits, store(client).misses) == (0, 2)


def test_turned_off_with_zero_memory(tmp_path: Path, engine: Engine) -> None:
    settings = Settings(data_dir=tmp_path / "data", page_cache_mb=0, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings)) as off:
        assert off.get("/").status_code == 200
        assert off.app.state.page_cache is None  # type: ignore[attr-defined]


def test_store_stays_within_budget_and_drops_old_versions(tmp_path: Path) -> None:
    version = SqliteDataVersion(str(tmp_path / "x.db"))
    pages = PageStore(version, budget_bytes=250)
    for i in range(5):
        pages.keep(f"/{i}".encode(), Entry(7, [], b"x" * 100))
    assert pages.size <= 250 and list(pages.entries) == [b"/3", b"/4"]
    assert pages.get(b"/4", 7) is not None and pages.get(b"/4", 8) is None
    pages.keep(b"/new", Entry(8, [], b"y"))
    assert list(pages.entries) == [b"/new"] and pages.size == 1
    pages.keep(b"/huge", Entry(8, [], b"z" * 1000))  # bigger than the budget: not kept
    assert b"/huge" not in pages.entries
    version.close()


@pytest.fixture
def two_clients(settings: Settings, engine: Engine, papers: None) -> Iterator[list[TestClient]]:
    """Two web processes' worth of app over one database (as `serve --workers 2`)."""
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        yield [a, b]


def test_workers_see_each_others_votes(two_clients: list[TestClient], engine: Engine) -> None:
    a, b = two_clients
    bearer = {"Authorization": f"Bearer {token_for(engine, 'w@example.org')}"}
    assert upvotes_in_api(a) == upvotes_in_api(b) == 0
    assert upvotes_in_api(b) == 0  # kept in b
    assert a.post(f"/api/papers/{PAPER}/upvote", headers=bearer).json()["upvotes"] == 1
    assert upvotes_in_api(b) == 1


@pytest.mark.only_backend("sqlite")
def test_when_sqlite_cannot_tell_pages_are_built_as_usual(
    client: TestClient, papers: None, tmp_path: Path
) -> None:
    garbage = tmp_path / "not-a-database"
    garbage.write_bytes(b"plain text, not SQLite" * 100)
    unreadable = SqliteDataVersion(str(garbage))
    assert unreadable.read_now() is None
    store(client).version = unreadable
    for _ in range(2):
        page = client.get("/")
        assert page.status_code == 200 and "x-page-cache" not in page.headers
        assert client.cookies["dp_csrf"] in page.text
    unreadable.close()


def test_requests_that_miss_together_share_one_build(tmp_path: Path) -> None:
    """Three reads of a page that is being built wait for that build instead of each building
    it; a page that must not be kept (here a 500) is built by each asker itself."""
    builds: list[str] = []
    release = asyncio.Event()

    async def slow_page(scope: Scope, receive: Receive, send: Send) -> None:
        builds.append(scope["path"])
        number = builds.count(scope["path"])
        await release.wait()
        status = 500 if scope["path"] == "/papers/trending" else 200
        body = f"page {number} {scope['state']['csrf_token']}".encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    version = SqliteDataVersion(str(tmp_path / "x.db"))
    cache = PageCache(slow_page, PageStore(version, budget_bytes=10_000))

    async def get(path: str, token: str) -> tuple[int, str, str]:
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [], "state": {"csrf_token": token}}  # fmt: skip
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            sent.append(message)

        await cache(scope, receive, send)
        headers = dict(sent[0]["headers"])
        return sent[0]["status"], headers[b"x-page-cache"].decode(), sent[1]["body"].decode()

    async def scenario() -> list[tuple[int, str, str]]:
        asks = [asyncio.create_task(get("/", f"t{i}")) for i in range(3)]
        asks += [asyncio.create_task(get("/papers/trending", f"u{i}")) for i in range(2)]
        await asyncio.sleep(0.01)
        release.set()
        return await asyncio.gather(*asks)

    answers = run_async(scenario())
    assert answers[:3] == [(200, "miss", "page 1 t0"), (200, "shared", "page 1 t1"),
                           (200, "shared", "page 1 t2")]  # fmt: skip
    assert [status for status, _, _ in answers[3:]] == [500, 500]
    assert builds.count("/") == 1 and builds.count("/papers/trending") == 2
    assert not cache.building
    version.close()


def test_a_served_app_freezes_what_it_built_out_of_the_collector(settings: Settings) -> None:
    gc.unfreeze()
    try:
        create_served_app(settings)
        assert gc.get_freeze_count() > 10_000  # modules, templates, the app
    finally:
        gc.unfreeze()
