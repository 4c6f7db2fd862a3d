"""What PostgreSQL does in place of SQLite's own mechanisms, and a database that goes away.

- The page cache's change counter (``data_changes``, bumped by triggers; SQLite: ``data_version``,
  tests/test_page_cache.py): it moves when a write the cached pages show commits, never before,
  and not for writes they do not show.
- A server stopped under a client: requests get 503 with ``Retry-After`` and one sentence (JSON
  under /api), the log gets one warning line instead of a traceback per request, and once the server
  is back the pool's ping (of a connection idle over 0.1 s) hands out fresh connections: 200 again without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.changes import PostgresChanges
from dailypapers.db.engine import database_unavailable, make_engine
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.ratelimit import check
from dailypapers.services.votes import vote
from dailypapers.web.app import create_app
from dailypapers.web.errors import UNAVAILABLE_RETRY_S
from tests.helpers import PAPER
from tests.postgres import SeparateServer, site_of_its_own


@pytest.mark.only_backend("postgresql")
def test_the_change_counter_moves_when_a_shown_write_commits(
    engine: Engine, community_papers: None
) -> None:
    counter = PostgresChanges(engine)
    try:
        before = counter.read_now()
        assert before is not None
        with Session(engine) as session, session.begin():
            user = add_user(session, "ada@example.org")
        assert counter.read_now() != before  # users are shown (a submitter's name)...
        before = counter.read_now()
        with Session(engine) as session:
            session.begin()
            vote(session, session.merge(user), PAPER)
            assert counter.read_now() == before  # ... but not before the vote commits
            session.commit()
        after_vote = counter.read_now()
        assert after_vote is not None and after_vote > before
        with Session(engine) as session, session.begin():
            check(session, "write_ip", "203.0.113.9")  # a rate counter: no page shows it
        assert counter.read_now() == after_vote
    finally:
        counter.close()


@pytest.mark.only_backend("postgresql")
def test_a_lost_counter_connection_means_no_caching_until_it_is_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = PostgresChanges(engine)
    try:
        assert counter.read_now() is not None
        with engine.connect() as conn:  # the server ends its connection (as a restart does)
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert counter.read_now() is None  # cannot tell: nothing is kept, nothing is served
        monkeypatch.setattr("dailypapers.db.changes.RETRY_AFTER_FAILURE_S", 0.0)
        assert counter.read_now() is not None  # a new connection
    finally:
        counter.close()


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[SeparateServer, Settings]]:
    """A server of its own (the test stops it), a migrated database with the community papers,
    and settings for an app on it."""
    with site_of_its_own(tmp_path, base_url="http://testserver") as site:
        yield site


def _bearer(settings: Settings) -> dict[str, str]:
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session, session.begin():
        _token, raw = create_api_token(session, add_user(session, "bot@example.org"), "t")
    engine.dispose()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.postgresql
def test_a_stopped_database_is_503_and_the_site_recovers_without_a_restart(
    outage: tuple[SeparateServer, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    server, settings = outage
    bearer = _bearer(settings)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for path in ("/", "/papers/trending", "/api/daily_papers", f"/papers/{PAPER}"):
            assert client.get(path).status_code == 200, path
        server.stop()
        with caplog.at_level(logging.WARNING):
            page = client.get("/")
            assert page.status_code == 503 and page.headers["retry-after"] == str(
                UNAVAILABLE_RETRY_S
            )
            assert "not available right now" in page.text and "Traceback" not in page.text
            api = client.get("/api/daily_papers")
            assert api.status_code == 503 and "not available" in api.json()["error"]
            assert client.get(f"/papers/{PAPER}").status_code == 503
            upvote = client.post(f"/api/papers/{PAPER}/upvote", headers=bearer)
            assert upvote.status_code == 503
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "database unavailable" in warnings[0].getMessage()
        assert not any(r.exc_info for r in caplog.records)  # no traceback
        server.start()
        for path in ("/", "/api/daily_papers", f"/papers/{PAPER}"):
            assert client.get(path).status_code == 200, path
        assert client.post(f"/api/papers/{PAPER}/upvote", headers=bearer).json()["upvotes"] == 1


def test_only_a_lost_database_counts_as_unavailable(engine: Engine) -> None:
    """A bug or bad data stays a 500 with its traceback: only connection trouble is a 503."""
    with engine.connect() as conn:
        with pytest.raises(Exception) as bad_sql:
            conn.execute(text("SELECT no_such_column FROM papers"))
        assert not database_unavailable(bad_sql.value)
        conn.rollback()
        with pytest.raises(Exception) as duplicate:
            conn.execute(text("INSERT INTO papers (id) VALUES (1), (1)"))
        assert not database_unavailable(duplicate.value)
