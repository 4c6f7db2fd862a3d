"""Shared fixtures: a fresh temporary SQLite database per test, settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.embeddings import register_embedder
from dailypapers.services.sample import load_sample
from dailypapers.web.app import create_app
from tests.fake_arxiv import FakeArxiv, fake_arxiv
from tests.fake_embedder import FAKE_MODEL, fake_embedder
from tests.helpers import MailBox, add_community_papers
from tests.redis_server import RedisServer, redis_server

DATA = Path(__file__).parent / "data"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    register_embedder(fake_embedder())  # jobs that embed use the tiny fake, not a real model
    return Settings(
        data_dir=tmp_path / "data",
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
