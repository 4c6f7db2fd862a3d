"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), settings pointing at it.

The ``settings`` fixture (and so ``engine``, ``client`` and everything built on them) is
parametrised over the two backends: a test that uses it runs once on a temporary SQLite file and once
on a fresh PostgreSQL database (``tests/postgres.py``). ``DAILYPAPERS_TEST_BACKENDS=sqlite`` (or
``pytest -m "not postgresql"``) runs the SQLite half only. A test of a mechanism only one backend
has (FTS5's internals, SQLite's ``data_version``) says so with ``@pytest.mark.only_backend("sqlite")``
and is paired with a test of the other backend's equivalent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.embeddings import register_embedder
from dailypapers.search.catalogue import CATALOGUES
from dailypapers.services.sample import load_sample
from dailypapers.web.app import create_app
from tests.fake_arxiv import FakeArxiv, fake_arxiv
from tests.fake_embedder import FAKE_MODEL, fake_embedder
from tests.helpers import MailBox, add_community_papers
from tests.postgres import PostgresServer
from tests.redis_server import RedisServer, redis_server

DATA = Path(__file__).parent / "data"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


BACKENDS = ("sqlite", "postgresql")


def enabled_backends() -> tuple[str, ...]:
    """The backends this run tests: DAILYPAPERS_TEST_BACKENDS (comma-separated), default both."""
    wanted = os.environ.get("DAILYPAPERS_TEST_BACKENDS", ",".join(BACKENDS))
    chosen = tuple(b for b in BACKENDS if b in {w.strip() for w in wanted.split(",")})
    if not chosen:
        raise pytest.UsageError(f"DAILYPAPERS_TEST_BACKENDS={wanted!r}: name sqlite or postgresql")
    return chosen


@pytest.fixture(autouse=True)
def filter_catalogues() -> Iterator[None]:
    """Filter catalogues (search/catalogue.py) built in the calling thread, forgotten after each
    test (a test of the background build turns ``background`` back on)."""
    CATALOGUES.background = False
    yield
    CATALOGUES.background = False
    CATALOGUES.clear()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql: runs on PostgreSQL (deselect with -m 'not postgresql')"
    )
    config.addinivalue_line(
        "markers",
        "only_backend(name): a mechanism one backend has; the test runs on that backend only",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the other backend's run of ``only_backend`` tests."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("only_backend")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if marker is not None and backend is not None and backend != marker.args[0]:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL (started on first use; see tests/postgres.py)."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(
    params=[
        pytest.param(b, marks=[pytest.mark.postgresql] if b == "postgresql" else [])
        for b in enabled_backends()
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this run of the test: "sqlite" or "postgresql"."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh, migrated PostgreSQL database for this test, or None: SQLite in the data dir."""
    if backend == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.database() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    register_embedder(fake_embedder())  # jobs that embed use the tiny fake, not a real model
    # commands run by the test (CliRunner, subprocesses) find the same database
    if database_url is None:
        monkeypatch.delenv("DAILYPAPERS_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DAILYPAPERS_DATABASE_URL", database_url)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        base_url="http://testserver",  # the test client's address: sign-in links point there
        embedding_model=FAKE_MODEL,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def shared_data(relative: str) -> Path:
    """A path under ../shared/data, or skip the test when that folder is not beside the clone."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs the shared arXiv data set at {path} (not part of the repository)")
    return path


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A client for an app over the fresh per-test database (add papers with tests.helpers)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def community_papers(engine: Engine) -> None:
    """Three papers for the community pages (tests.helpers.PAPER, OTHER and an older one)."""
    add_community_papers(engine)


@pytest.fixture
def mails(client: TestClient) -> MailBox:
    """What the client's app mails (sign-in links, digest confirmations), kept instead of sent."""
    box = MailBox()
    client.app.state.mail_sender = box  # type: ignore[attr-defined]
    return box


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for a database holding the bundled sample, loaded once per test session."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("sample"), _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    load_sample(engine)
    engine.dispose()
    return settings


@pytest.fixture(scope="session")
def sample_client(sample_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sample_settings)) as test_client:
        yield test_client


@pytest.fixture
def fake() -> Iterator[FakeArxiv]:
    """A fake arXiv on loopback; add routes with ``fake.add(path, body, ...)``."""
    with fake_arxiv() as server:
        yield server


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port (files under /tmp), stopped afterwards."""
    with redis_server() as server:
        yield server
