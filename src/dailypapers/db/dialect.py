"""Conflict-aware inserts for the two databases we run on (SQLite and PostgreSQL).

``INSERT ... ON CONFLICT`` lets a vote, a submission or a rate counter be written once even when
two requests race, without read-then-write windows; both dialects spell it the same way in
SQLAlchemy, only the construct comes from a different module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Insert = sqlite.Insert | postgresql.Insert


def dialect_insert(session: Session, model: Any) -> Insert:
    """An INSERT for ``model`` that supports ``on_conflict_do_nothing`` / ``_do_update``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_ignore(session: Session, model: Any, **values: object) -> bool:
    """Insert a row unless one with the same key exists; True when a row was inserted."""
    statement = dialect_insert(session, model).values(**values).on_conflict_do_nothing()
    # an INSERT's row count is kept only when asked for (psycopg's is otherwise dropped)
    result = session.execute(statement.execution_options(preserve_rowcount=True))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
