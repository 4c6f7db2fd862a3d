"""A frozen PostgreSQL (every server process stopped with SIGSTOP: connections stay open, nothing
answers) must not hang the web app: the web engine's statement timeout, and the client-side
deadline on every round trip (``dailypapers.db.deadlines``), turn it into 503s with Retry-After
within the timeout plus a grace and a connect timeout; after SIGCONT the same process serves
again. Jobs, imports and migrations keep no time limit.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.db.changes import READ_DEADLINE_S, READ_WAIT_S, PostgresChanges
from dailypapers.db.deadlines import grace_s
from dailypapers.db.engine import (
    PG_CONNECT_TIMEOUT_S,
    database_unavailable,
    deadlines_of,
    make_engine,
)
from tests.fake_embedder import FAKE_MODEL
from tests.postgres import SeparateServer, site_of_its_own
from tests.test_postgres_restart import READS, Reader, _wait_for, served

TIMEOUT_S = 2.0
DEADLINE_S = TIMEOUT_S + grace_s(TIMEOUT_S)
# The longest a request may take while the server is frozen: the page cache's wait for the change
# counter, then a pooled connection's ping waits for its deadline, and a new connection for the
# connect timeout. Plus slack for a loaded 2-core box (13.1 s was seen with 2 s of slack).
BOUND_S = READ_WAIT_S + DEADLINE_S + PG_CONNECT_TIMEOUT_S + 4.0


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.only_backend("postgresql")
def test_only_the_web_engine_has_a_statement_timeout(engine: Engine) -> None:
    timed = make_engine(_url(engine), statement_timeout_s=TIMEOUT_S)
    plain = make_engine(_url(engine))
    try:
        with timed.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "2s"
            with pytest.raises(Exception) as slow:
                conn.execute(text("SELECT pg_sleep(:s)"), {"s": TIMEOUT_S + 1})
            assert database_unavailable(slow.value)  # cancelled by the server: a 503
        with plain.connect() as conn:  # jobs, imports, migrations, migrate-db
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
            assert conn.execute(text("SELECT pg_sleep(0.01)")).all()
        assert deadlines_of(timed) is not None and deadlines_of(plain) is None
    finally:
        timed.dispose()
        plain.dispose()


@pytest.mark.only_backend("sqlite")
def test_sqlite_ignores_the_statement_timeout(engine: Engine) -> None:
    timed = make_engine(_url(engine), statement_timeout_s=TIMEOUT_S)
    try:
        with timed.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM papers")).scalar() == 0
        assert deadlines_of(timed) is None
    finally:
        timed.dispose()


@pytest.fixture
def frozen_site(tmp_path: Path) -> Iterator[tuple[SeparateServer, Settings]]:
    fields = {"embedding_model": FAKE_MODEL, "database_statement_timeout_s": TIMEOUT_S}
    with site_of_its_own(tmp_path, **fields) as site:
        yield site


@pytest.mark.postgresql
def test_a_round_trip_to_a_frozen_server_ends_at_its_deadline(
    frozen_site: tuple[SeparateServer, Settings],
) -> None:
    server, settings = frozen_site
    engine = make_engine(settings.resolved_database_url, statement_timeout_s=TIMEOUT_S)
    counter = PostgresChanges(engine)
    try:
        assert counter.read_now() is not None
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            frozen = server.freeze()
            try:
                started = time.monotonic()
                with pytest.raises(Exception) as hung:
                    conn.execute(text("SELECT count(*) FROM papers"))
                waited = time.monotonic() - started
                assert database_unavailable(hung.value)  # a 503, not a 500
                assert DEADLINE_S - 0.5 < waited < DEADLINE_S + 1.5, waited
                started = time.monotonic()
                assert counter.read_now() is None  # the page cache's read gives up too
                assert time.monotonic() - started < READ_DEADLINE_S + 1.0
            finally:
                server.thaw(frozen)
        deadlines = deadlines_of(engine)
        assert deadlines is not None and deadlines.ended == 2
        with engine.connect() as conn:  # the broken connection was replaced
            assert conn.execute(text("SELECT count(*) FROM papers")).scalar()
    finally:
        counter.close()
        engine.dispose()


@pytest.mark.postgresql
@pytest.mark.server
def test_a_served_site_answers_503_while_postgresql_is_frozen_and_recovers(
    frozen_site: tuple[SeparateServer, Settings], tmp_path: Path
) -> None:
    server, settings = frozen_site
    log = tmp_path / "serve.log"
    started: list[subprocess.Popen[bytes]] = []
    timeout = {"DAILYPAPERS_DATABASE_STATEMENT_TIMEOUT_S": str(TIMEOUT_S)}
    with served(settings, log, started, **timeout) as url:
        with Reader(url, timeout=BOUND_S * 3) as reader:
            time.sleep(1.0)
            frozen_at = time.monotonic()
            frozen = server.freeze()
            try:
                time.sleep(2 * BOUND_S)  # a request hung until the thaw takes far over the bound
            finally:
                server.thaw(frozen)
            thawed_at = time.monotonic()
            recovered = _wait_for(url, READS, within=30)
            time.sleep(1.0)
        assert started[0].poll() is None  # the same process throughout
    answers = reader.answers
    during = [a for a in answers if frozen_at <= a.at and a.at + a.seconds <= thawed_at]
    assert all(a.status in (200, 503) for a in answers), [
        a for a in answers if a.status not in (200, 503)
    ]
    unavailable = [a for a in during if a.status == 503]
    assert unavailable, "no request answered 503 while the server was frozen"
    assert all(a.retry_after and int(a.retry_after) > 0 for a in unavailable)
    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds < BOUND_S, slowest  # none hung until the thaw
    assert recovered < 15
    first_ok = min(a.at for a in answers if a.at >= thawed_at and a.status == 200)
    after = [a for a in answers if a.at > first_ok + 0.5]
    assert after and all(a.status == 200 for a in after), [a for a in after if a.status != 200]
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    assert "connection ended (server frozen?)" in output
