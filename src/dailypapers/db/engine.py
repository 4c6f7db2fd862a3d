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
those with 503. The web app's engine (``make_engine(statement_timeout_s=..., serving=True)``) also
has a statement timeout, a client-side deadline on every round trip (:mod:`dailypapers.db.deadlines`:
a frozen server answers nothing, and the request still gets its 503), and no JIT or parallel
workers; jobs, imports, migrations and moves keep the server's settings and no time limit.

SQLite runs one write transaction at a time. A writer that finds the database locked sleeps in
SQLite's busy handler, in steps growing to 100 ms, and newcomers can overtake it: under a stream of
votes some waited seconds. So the threads of one process queue for writing on a lock of their own
(:class:`_SerialisedWrites`): taken before a transaction's first write, released by its commit
or rollback, and handed straight to the next writer. Only writers queue; readers never wait (WAL).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    InvalidatePoolError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from dailypapers.db.deadlines import Deadlines, grace_s

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
# TCP keepalives on every PostgreSQL connection: an idle pooled connection to a host that is gone
# (crashed, cut off) is noticed within about a minute and a half instead of the kernel's two hours.
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10}
PG_KEEPALIVES_COUNT = 3
# Sent data a host has not acknowledged for this long ends the connection (``tcp_user_timeout``),
# for engines without a statement timeout (which use theirs).
PG_TCP_USER_TIMEOUT_S = 60
# The web app's connections (``make_engine(serving=True)``): a request's queries take milliseconds,
# so compiling them (JIT: tens to hundreds of ms once a plan's cost passes jit_above_cost, as big
# tables' plans do) never pays, and parallel workers turn one request into three processes that
# compete with the other requests for the same few cores (docs/PERFORMANCE.md "Search on
# PostgreSQL").
PG_SERVING_SETTINGS = {"jit": "off", "max_parallel_workers_per_gather": "0"}
# pgvector's HNSW search on every PostgreSQL connection (sent once, with the connection's startup
# options, instead of a ``set_config`` round trip before each search; a database without the
# extension keeps them as placeholders, which the extension takes when it loads): candidates kept
# while searching (pgvector's default 40 also caps the results of a plain scan); iterative scans,
# which go on past it until enough rows pass the filter or until ``hnsw.max_scan_tuples`` index
# entries were read. ``db/pg_vectors.py: HalfvecVectors.nearest`` raises ``ef_search`` for a
# deeper page, for its transaction.
# A pooled connection idle longer than this is pinged before it is handed out (a server restarted
# or gone meanwhile: a fresh connection instead, and the pool's older ones replaced). One returned
# in the last 0.1 s is not: requests back to back (a busy site; the benchmarks) paid a ping, a
# round trip of ~0.3-1.5 ms on a loaded box, each. A restart takes longer than that; a server
# lost within it fails the next statement instead: a 503, and the pool is renewed.
PG_PING_IDLE_S = 0.1
PG_HNSW_SETTINGS = {
    "hnsw.ef_search": "100",
    "hnsw.iterative_scan": "relaxed_order",
    "hnsw.max_scan_tuples": "50000",
}


class UnsupportedDatabase(ValueError):
    """The database URL names neither SQLite nor PostgreSQL."""


def make_engine(
    url: str, *, statement_timeout_s: float | None = None, serving: bool = False
) -> Engine:
    """Create an engine; SQLite connections get WAL, foreign keys and a busy timeout, PostgreSQL
    ones (``postgresql://`` or ``postgresql+psycopg://``: psycopg 3) a checked pool in UTC and
    TCP keepalives.

    ``statement_timeout_s`` (PostgreSQL; the web app's, ``DAILYPAPERS_DATABASE_STATEMENT_TIMEOUT_S``;
    None or 0: none, for migrations, imports, jobs and moves): the server cancels a statement
    running longer, a round trip still unanswered a little later ends its connection
    (:mod:`dailypapers.db.deadlines`: a frozen server), and a request waits at most as long for a
    pooled connection. Either way the request gets an error :func:`database_unavailable` calls a
    503. SQLite ignores it.

    ``serving`` (PostgreSQL; the web app's engine): :data:`PG_SERVING_SETTINGS` on its
    connections (no JIT compilation, no parallel workers: short queries on a few shared cores)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnsupportedDatabase(f"not a database URL: {url[:100]!r}") from None
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed, statement_timeout_s or None, serving)
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


def _postgres_engine(parsed: URL, timeout_s: float | None, serving: bool) -> Engine:
    if parsed.drivername == "postgresql":  # SQLAlchemy's default would be psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername != "postgresql+psycopg":
        raise UnsupportedDatabase(
            f"PostgreSQL through {parsed.drivername!r}: use postgresql+psycopg:// (psycopg 3)"
        )
    options = f"{parsed.query.get('options', '')} -c timezone=UTC"
    if timeout_s is not None:
        options += f" -c statement_timeout={max(1, round(timeout_s * 1000))}"
    settings = {**PG_HNSW_SETTINGS, **(PG_SERVING_SETTINGS if serving else {})}
    options += "".join(f" -c {name}={value}" for name, value in settings.items())
    engine = create_engine(
        parsed,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_use_lifo=True,
        pool_timeout=timeout_s if timeout_s is not None else 30,
        json_serializer=_json_text,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
            "options": options.strip(),
            **PG_KEEPALIVES,
            "keepalives_count": PG_KEEPALIVES_COUNT,
            "tcp_user_timeout": round((timeout_s or PG_TCP_USER_TIMEOUT_S) * 1000),
        },
    )
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "begin", _forget_writes)
    _ping_when_idle(engine, PG_PING_IDLE_S)
    if timeout_s is not None:
        _watch_round_trips(engine, Deadlines(timeout_s + grace_s(timeout_s)))
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """SQLAlchemy's pre-ping, for connections idle over ``idle_s`` only (:data:`PG_PING_IDLE_S`):
    a failed ping that means a lost server replaces every pooled connection, as pre-ping does."""

    def checkin(_dbapi: Any, record: Any) -> None:  # noqa: ANN401
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:  # noqa: ANN401
        since = record.info.pop("idle_since", None)  # None: a new connection
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi)  # (under the round-trip deadlines, when watched)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi, None):
                raise InvalidatePoolError() from exc
            raise

    event.listen(engine.pool, "checkin", checkin)
    event.listen(engine.pool, "checkout", checkout)


def _watch_round_trips(engine: Engine, deadlines: Deadlines) -> None:
    """Every statement, commit, rollback and pool ping of ``engine`` under ``deadlines``."""
    _DEADLINES[engine] = deadlines

    def before(conn: Connection, *_args: Any) -> None:
        deadlines.start(conn.connection.dbapi_connection)

    def after(conn: Connection, *_args: Any) -> None:
        deadlines.stop(conn.connection.dbapi_connection)

    def failed(context: Any) -> None:  # noqa: ANN401 - SQLAlchemy's ExceptionContext
        if context.connection is not None and context.connection.connection is not None:
            deadlines.stop(context.connection.connection.dbapi_connection)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
    dialect = engine.dialect
    for name in ("do_ping", "do_commit", "do_rollback"):
        setattr(dialect, name, _watched(getattr(dialect, name), deadlines))


def _watched(method: Any, deadlines: Deadlines) -> Any:  # noqa: ANN401
    def watched(dbapi_connection: Any) -> Any:  # noqa: ANN401
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)  # pool: a fairy
        with deadlines.watching(raw):
            return method(dbapi_connection)

    return watched


def deadlines_of(engine: Engine) -> Deadlines | None:
    """The engine's round-trip deadlines (an engine with a statement timeout), else None."""
    return _DEADLINES.get(engine)


_DEADLINES: weakref.WeakKeyDictionary[Engine, Deadlines] = weakref.WeakKeyDictionary()


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
    return connection_wrote(session.connection())


def connection_wrote(conn: Connection) -> bool:
    """Whether the connection's open transaction holds statements that wrote (a second
    connection would not see them; see :func:`transaction_wrote`)."""
    if not conn.in_transaction():
        return False  # (the note is forgotten at the next BEGIN, not at the last COMMIT)
    if backend_of(conn) == "postgresql":
        return bool(conn.info.get("wrote"))
    dbapi = conn.connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


def advisory_key(name: str) -> int:
    """The key of PostgreSQL's advisory lock named ``name`` (64 bits of its SHA-256, signed)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def backend_of(bind: Engine | Connection | Session) -> Backend:
    """Which backend an engine, connection or session talks to (chosen by its URL)."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return "postgresql" if engine.dialect.name == "postgresql" else "sqlite"


# SQLSTATE classes and codes of a server that is gone, not ready or too slow: 08 connection
# exception, 57P01-57P03 admin / crash shutdown and "the database system is starting up", 57014 a
# statement cancelled (by the web app's statement timeout).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "57014")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL cannot be reached now (down, restarting, frozen, no free
    pooled connection, a statement past the statement timeout), as opposed to a bug or bad data:
    worth a 503 and a retry, not a traceback."""
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


def statement_timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL cancelling a statement past its timeout (query_canceled)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return getattr(orig, "sqlstate", None) == "57014"


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
