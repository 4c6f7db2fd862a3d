"""Moving an instance to another database: ``dailypapers migrate-db --to URL``.

Everything in the instance's database (papers, accounts, votes, comments, collections,
subscriptions, the digest ledger, vectors...) is copied to the target, which may be PostgreSQL or
SQLite whichever the source is: the target is checked (reachable, pgvector there, empty or a partial
copy of this very source), brought to the newest schema by the same migrations, filled table by
table in key order (:mod:`dailypapers.db.move`; re-running after an interruption goes on where it
stopped), finished (sequences, vector and keyword indexes) and checked against the source
(:mod:`dailypapers.db.move_check`). The source is only read. Anything the user can get wrong is a
:class:`MoveRefused` with one sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError

from dailypapers.db import move
from dailypapers.db.engine import (
    UnsupportedDatabase,
    backend_of,
    database_unavailable,
    make_engine,
)
from dailypapers.db.migrate import head_revision, upgrade_schema
from dailypapers.db.move_check import TableCheck, verify
from dailypapers.services.errors import ServiceError

DEFAULT_BATCH = 2000
VECTOR_EXTENSION = "vector"

# How a table's copy is shown: told (name, rows in the source, rows copied before this run), it
# returns the callback that hears each batch's size.
OnTable = Callable[[str, int, int], Callable[[int], None]]


class MoveRefused(ServiceError):
    """The move cannot start or go on: a bad URL, a target that cannot be used, ..."""


@dataclass(frozen=True)
class MoveReport:
    source: str
    target: str
    resumed: bool  # the target held a partial copy of this source
    copied: dict[str, int]  # rows copied by this run, per table
    seconds: float  # copying and finishing (indexes, sequences), not the check
    steps: dict[str, float]  # seconds per table, "indexes" (finishing) and "check"
    checks: list[TableCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def papers(self) -> int:
        return self.copied.get("papers", 0)


def identity(url: str) -> str:
    """The database a URL names, without its password (SQLite: the absolute path)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise MoveRefused(f"not a database URL: {url[:100]!r}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        path = database if database in ("", ":memory:") else str(Path(database).resolve())
        return f"sqlite:///{path}"
    query = {k: v for k, v in parsed.query.items() if k != "password"}
    parsed = parsed.set(drivername="postgresql", password=None, query=query)
    return parsed.render_as_string(hide_password=False)


def _engine(url: str, role: str) -> Engine:
    try:
        engine = make_engine(url)
    except UnsupportedDatabase as exc:
        raise MoveRefused(f"{role}: {exc}") from None
    if backend_of(engine) == "sqlite" and make_url(url).database in (None, "", ":memory:"):
        raise MoveRefused(f"{role}: an SQLite URL needs a file, e.g. sqlite:////srv/dailypapers.db")
    return engine


def _reason(exc: SQLAlchemyError) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


def _reach(engine: Engine, role: str, url: str) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise MoveRefused(
            f"cannot reach the {role} database {identity(url)}: {_reason(exc)}"
        ) from None


def _check_source(source: Engine, url: str) -> None:
    _reach(source, "source", url)
    with source.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            raise MoveRefused(f"the source {identity(url)} is not a dailypapers database")
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision != head_revision():
        raise MoveRefused(
            f"the source database is at schema {revision}, this version expects "
            f"{head_revision()}: start dailypapers on it once (or run `dailypapers init`), "
            "then move it"
        )
    try:
        move.check_copyable(source)
    except move.CannotCopy as exc:
        raise MoveRefused(f"cannot copy the source: {exc}") from None


def _check_vector_extension(target: Engine) -> None:
    """pgvector must be there or installable (the migrations create the extension)."""
    if backend_of(target) != "postgresql":
        return
    with target.connect() as conn:
        available = conn.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = :n"),
            {"n": VECTOR_EXTENSION},
        ).first()
    if available is None:
        raise MoveRefused(
            "the target PostgreSQL has no pgvector extension: install it on the server "
            "(e.g. the postgresql-NN-pgvector package, or the pgvector/pgvector image)"
        )


def _prepare_target(target: Engine, url: str, source_id: str) -> bool:
    """Check the target may receive this source and migrate it; whether it holds a partial copy."""
    with target.connect() as conn:
        recorded = move.recorded_source(conn)
        tables = set(inspect(conn).get_table_names())
    if recorded is not None and recorded != source_id:
        raise MoveRefused(
            f"the target holds a copy of another database ({recorded}), not of {source_id}: "
            "empty it or choose another target"
        )
    if recorded is None and tables and "alembic_version" not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise MoveRefused(
            f"the target is not empty and not a dailypapers database (tables {shown})"
        )
    _check_vector_extension(target)
    try:
        upgrade_schema(target)
    except DBAPIError as exc:
        hint = ""
        if "extension" in str(exc.orig):
            hint = (
                f" (the migrations need CREATE EXTENSION {VECTOR_EXTENSION}: run it as a superuser)"
            )
        raise MoveRefused(f"cannot prepare the target: {_reason(exc)}{hint}") from None
    with target.begin() as conn:
        if recorded is None:
            filled = move.tables_with_rows(conn)
            if filled:
                raise MoveRefused(
                    f"the target database is not empty ({', '.join(filled[:5])} hold rows) and "
                    "is not a partial copy of this source: choose an empty database"
                )
            move.record_source(conn, source_id)
    return recorded is not None


def move_database(
    source_url: str,
    target_url: str,
    *,
    batch: int = DEFAULT_BATCH,
    on_table: OnTable | None = None,
) -> MoveReport:
    """Copy the database at ``source_url`` into ``target_url`` (see the module docstring)."""
    if batch < 1:
        raise MoveRefused("the batch size must be at least 1")
    source_id, target_id = identity(source_url), identity(target_url)
    if source_id == target_id:
        raise MoveRefused(f"--to names the database in use ({source_id}): nothing to move")
    source, target = _engine(source_url, "source"), _engine(target_url, "--to")
    try:
        _check_source(source, source_url)
        _reach(target, "target", target_url)
        resumed = _prepare_target(target, target_url, source_id)
        started = time.perf_counter()
        steps: dict[str, float] = {}
        copied = _copy(source, target, source_id, batch, on_table, steps)
        move.finish(target)
        seconds = time.perf_counter() - started
        steps["indexes"] = seconds - sum(steps.values())
        checks = verify(source, target)
        steps["check"] = time.perf_counter() - started - seconds
    except IntegrityError as exc:  # the target was written to beside the move
        raise MoveRefused(f"the target refused a copied row: {_reason(exc)}") from None
    except SQLAlchemyError as exc:
        if not database_unavailable(exc):
            raise
        raise MoveRefused(f"the move stopped: {_reason(exc)} (run it again to go on)") from None
    finally:
        source.dispose()
        target.dispose()
    return MoveReport(source_id, target_id, resumed, copied, seconds, steps, checks)


def _copy(
    source: Engine,
    target: Engine,
    source_id: str,
    batch: int,
    on_table: OnTable | None,
    steps: dict[str, float],
) -> dict[str, int]:
    with source.connect() as conn:
        totals = {t.name: move.rows_in(conn, t) for t in move.TABLES}
    with target.connect() as conn:
        before = move.copied_so_far(conn)
    copied = {}
    for table in move.TABLES:
        advance = (
            on_table(table.name, totals[table.name], before.get(table.name, 0))
            if on_table is not None
            else (lambda _n: None)
        )
        started = time.perf_counter()
        copied[table.name] = move.copy_table(source, target, table, source_id, batch, advance)
        steps[table.name] = time.perf_counter() - started
    return copied
