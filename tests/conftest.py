"""Shared fixtures: a fresh temporary SQLite database per test, settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade

DATA = Path(__file__).parent / "data"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


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
