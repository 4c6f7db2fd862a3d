"""The Alembic migrations build exactly the schema the ORM models describe, and run twice safely;
PostgreSQL has the few objects of its own that migration 0006 adds."""

from __future__ import annotations

import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import SAWarning

from dailypapers.db.migrate import upgrade
from dailypapers.db.models import Base

# Created by SQL, not by the models: SQLite's FTS5 table (and its shadow tables); PostgreSQL's
# keyword vector and its GIN index, the halfvec column (the blob column is nullable there) and the
# change counter and the codes (migrations 0017, 0018); SQLite's set-of-papers number (0019).
OWN_OBJECTS = (
    "Table('papers_fts",
    "Table('data_changes'",
    "Table('paper_set_changes'",
    "Table('paper_category_codes'",
    "Table('paper_day_codes'",
    "<paper_category_codes>",  # (and their indexes)
    "<paper_day_codes>",
    "Column('search_vector'",
    "Column('embedding'",
    "('modify_nullable', None, 'paper_embeddings', 'vector'",
)


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Did not recognize type 'halfvec'", SAWarning)
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in differences if not any(name in str(d) for name in OWN_OBJECTS)] == []


@pytest.mark.only_backend("postgresql")
def test_postgresql_has_its_keyword_vector_halfvec_column_and_change_counter(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        columns = dict(
            conn.execute(
                text(
                    "SELECT table_name || '.' || column_name, udt_name FROM information_schema.columns "
                    "WHERE table_name IN ('papers', 'paper_embeddings')"
                )
            ).all()
        )
        assert columns["papers.search_vector"] == "tsvector"
        assert columns["paper_embeddings.embedding"] == "halfvec"
        assert conn.execute(text("SELECT count(*) FROM data_changes")).scalar() == 16
        extension = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'"))
        assert extension.first() is not None


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
