"""The Alembic migrations build exactly the schema the ORM models describe, and run twice safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from dailypapers.db.migrate import upgrade
from dailypapers.db.models import Base


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # the FTS5 virtual table and its shadow tables are created by SQL, not by the models
    assert [d for d in differences if "papers_fts" not in str(d)] == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
