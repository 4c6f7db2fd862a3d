"""Conflict-aware inserts for the two databases we run on (SQLite and PostgreSQL).

``INSERT ... ON CONFLICT`` lets a vote, a submission or a rate counter be written once even when
two requests race, without read-then-write windows; both dialects spell it the same way in
SQLAlchemy, only the construct comes from a different module. And :func:`id_array`: a column of
ids read straight into NumPy on either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from sqlalchemy import Connection, Select, func, select
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


def id_array(conn: Connection, statement: Select[Any]) -> NDArray[np.int64]:
    """The one integer column ``statement`` selects, as an array, in its order. The database
    gathers the column into one value (SQLite: ``json_group_array``, read by orjson; PostgreSQL:
    ``array_agg``, converted by the driver): 10,000 ids as 10,000 result rows cost ~2.5x as
    much through the driver's ``fetchall`` alone, ~6x through SQLAlchemy's rows."""
    inner = statement.subquery()
    column = inner.c[0]
    if conn.dialect.name == "sqlite":
        text = conn.execute(select(func.json_group_array(column))).scalar()
        return np.array(orjson.loads(text) if text else [], dtype=np.int64)
    found = conn.execute(select(func.array_agg(column))).scalar()
    return np.array(found or [], dtype=np.int64)
