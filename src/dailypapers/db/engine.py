"""Engine and session factory for SQLite (WAL, foreign keys) or PostgreSQL (psycopg 3).

Nothing is created at import time: :func:`make_engine` is called by the app factory and the CLI with
the settings they were given, so tests use a fresh temporary database each. The URL chooses the
backend, once: :func:`backend_of` says which one an engine or connection talks to, and the modules
where the two differ (the keyword index, the vector store, change detection: see
docs/ARCHITECTURE.md, "Two backends") ask it; nothing above them does.

PostgreSQL connections are pooled (:data:`PG_POOL_SIZE` per process), checked with a ping when
taken from the pool (a server restart costs the next request nothing: dead connections are
replaced), and run in UTC, like every timestamp stored. :func:`database_unavailable` tells a
connection lost or refused (the server down or restarting) from other errors: the web app answers
those with 503.

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
from typing import Any, Literal

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

Backend = Literal["sqlite", "postgresql"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()


# Each pooled connection (up to 56 a process) keeps its own page cache; at 32 MB each they grew
# with the connections a load keeps busy. Pages beyond these 8 MB are read again from the
# operating system's page cache, which every connection and process shares (docs/PERFORMANCE.md
# "Memory"). No memory map (PRAGMA mmap_size): SQLite maps the file once per connection, and
# every map counted the same pages again in the process's RSS (7 GiB at 1 M papers).
SQLITE_CACHE_KIB = 8000


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


# PostgreSQL: connections per process (a web process runs up to 40 requests at once; they wait a
# moment for a connection rather than each holding a server process).
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 10
PG_CONNECT_TIMEOUT_S = 5  # a server that does not answer: fail (503) rather than hang a request


class UnsupportedDatabase(ValueError):
    """The database URL names neither SQLite nor PostgreSQL."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite connections get WAL, foreign keys and a busy timeout, PostgreSQL
    ones (``postgresql://`` or ``postgresql+psycopg://``: psycopg 3) a checked pool in UTC."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnsupportedDatabase(f"not a database URL: {url[:100]!r}") from None
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed)
    if parsed.get_backend_name() != "sqlite":
        raise UnsupportedDatabase(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///path or "
            "postgresql+psycopg://user:password@host/database"
        )
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


def _postgres_engine(parsed: URL) -> Engine:
    if parsed.drivername == "postgresql":  # SQLAlchemy's default would be psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "postgresql+psycopg":
        raise UnsupportedDatabase(
            f"PostgreSQL through {parsed.drivername!r}: use postgresql+psycopg:// (psycopg 3)"
        )
    options = str(parsed.query.get("options", ""))
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_use_lifo=True,
        json_serializer=_json_text,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
            "options": f"{options} -c timezone=UTC".strip(),
        },
    )
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "begin", _forget_writes)
    return engine


_WRITES_PG = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "ALTER", "DROP")


def _note_writes(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if not conn.info.get("wrote") and statement.lstrip()[:8].upper().startswith(_WRITES_PG):
        conn.info["wrote"] = True


def _forget_writes(conn: Connection) -> None:
    conn.info.pop("wrote", None)


def transaction_wrote(session: Session) -> bool:
    """Whether the session's open transaction holds writes: ORM changes not flushed yet, or
    statements that wrote (SQLite: sqlite3 opens a transaction only before a write; PostgreSQL:
    the engine notes each INSERT, UPDATE, DELETE... it sends, and forgets at the next BEGIN)."""
    if session.new or session.dirty or session.deleted:
        return True
    connection = session.connection()
    if backend_of(session) == "postgresql":
        return bool(connection.info.get("wrote"))
    dbapi = connection.connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


def backend_of(bind: Engine | Connection | Session) -> Backend:
    """Which backend an engine, connection or session talks to (chosen by its URL)."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return "postgresql" if engine.dialect.name == "postgresql" else "sqlite"


# SQLSTATE classes and codes of a server that is gone or not ready: 08 connection exception,
# 57P01-57P03 admin / crash shutdown and "the database system is starting up".
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL cannot be reached now (down, restarting, no free pooled
    connection), as opposed to a bug or bad data: worth a 503 and a retry, not a traceback."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError) or isinstance(exc.orig, sqlite3.Error):
        return False
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if state is None:  # no answer from a server: connecting failed, or the connection broke
        return isinstance(exc, OperationalError | InterfaceError)
    return str(state).startswith(_UNAVAILABLE_STATES)


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
