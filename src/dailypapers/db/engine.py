"""Engine and session factory for SQLite (WAL, foreign keys) or any SQLAlchemy URL.

Nothing is created at import time: :func:`make_engine` is called by the app factory and the CLI with
the settings they were given, so tests use a fresh temporary database each.

SQLite runs one write transaction at a time. A writer that finds the database locked sleeps in
SQLite's busy handler, in steps growing to 100 ms, and newcomers can overtake it: under a stream of
votes some waited seconds. So the threads of one process queue for writing on a lock of their own
(:class:`_SerialisedWrites`): taken before a transaction's first write, released by its commit
or rollback, and handed straight to the next writer. Only writers queue; readers never wait (WAL).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA cache_size=-32000")
        cursor.close()


BUSY_TIMEOUT_S = 10
# A connection for each of the thread pool's 40 threads (anyio's default): a read never waits for
# one while writers hold theirs.
POOL_SIZE = 40
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")  # sqlite3 begins a transaction before these


class _SerialisedWrites(sqlite3.Connection):
    """An sqlite3 connection whose write transactions take the process's write lock first."""

    write_lock: threading.Lock  # one per engine: set on the subclass made by _connection_class
    holds_lock = False

    def cursor(self, factory: Any = None) -> Any:  # noqa: ANN401 - sqlite3's own signature
        return super().cursor(factory or _WriteCursor)

    def take_write_lock(self) -> None:
        # Bounded like SQLite's busy timeout; past it, SQLite's own locking decides as before.
        self.holds_lock = self.write_lock.acquire(timeout=BUSY_TIMEOUT_S)

    def release_write_lock(self) -> None:
        if self.holds_lock and not self.in_transaction:
            self.holds_lock = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:  # closing rolls back: the next writer may go
        if self.holds_lock:
            self.holds_lock = False
            self.write_lock.release()
        super().close()


class _WriteCursor(sqlite3.Cursor):
    connection: _SerialisedWrites

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # noqa: ANN401
        return self._serialised(super().execute, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:  # noqa: ANN401
        return self._serialised(super().executemany, sql, seq_of_parameters)

    def _serialised(self, run: Any, sql: str, parameters: Any) -> Any:  # noqa: ANN401
        conn = self.connection
        if (
            conn.holds_lock
            or conn.in_transaction
            or not sql.lstrip()[:7].upper().startswith(_WRITES)
        ):
            return run(sql, parameters)
        conn.take_write_lock()
        try:
            return run(sql, parameters)
        finally:
            conn.release_write_lock()  # kept while the statement left a transaction open


def _connection_class() -> type[_SerialisedWrites]:
    return type("SerialisedWrites", (_SerialisedWrites,), {"write_lock": threading.Lock()})


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "factory": _connection_class()},
            pool_size=POOL_SIZE,
            max_overflow=16,
            pool_use_lifo=True,  # the few busiest connections keep their page caches warm
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


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: a session whose transaction commits when the block ends and rolls back
    when it raises (CLI commands and jobs; a web request gets one from ``web.deps``)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
