"""Engine and session factory for SQLite (WAL, foreign keys) or any SQLAlchemy URL.

Nothing is created at import time: :func:`make_engine` is called by the app factory and the CLI with
the settings they were given, so tests use a fresh temporary database each.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA cache_size=-32000")
        cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            pool_size=8,
            max_overflow=8,
            json_serializer=_json_text,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=_json_text)


def _json_text(value: Any) -> str:
    """JSON as UTF-8 text (not \\u escapes), as imports write it, so the keyword index sees names."""
    return json.dumps(value, ensure_ascii=False)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
