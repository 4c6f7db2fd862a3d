"""Copying a whole instance from one database to another (``dailypapers migrate-db``): the tables.

**What is copied** comes from the ORM metadata (:data:`TABLES`, parents before children), so a table
a later change adds is copied without anyone remembering to list it. Each table is copied in primary
key order; a table the copier does not know how to copy stops the move before anything is written
(:class:`CannotCopy`): a model without a primary key, or with a key column that is neither an
integer nor a string, or a table or column in the source that the models do not name and that is not
one of the backend's own (:data:`OWN_TABLES`, :data:`OWN_COLUMNS`: the FTS5 index, the generated
``tsvector``, PostgreSQL's change counter... which the target builds itself). ``paper_embeddings``
goes through the vector store seam (:mod:`dailypapers.db.vector_store`): a float32 blob on SQLite,
a ``halfvec`` on PostgreSQL.

**Resuming.** The target holds a small table of its own, :data:`PROGRESS` (``dailypapers_move``):
which source it is a copy of (the row named ``*``) and, per table, the primary key of the last row
copied. Each batch's rows and the new position are written in one transaction: a move killed at any
moment leaves the target at a batch boundary that the progress row names exactly, and the next run
goes on from there, never copying a row twice nor skipping one. (The position is the source's key,
compared in the source's own order, so the two databases' string collations never need to agree.)
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    exc,
    func,
    insert,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from dailypapers import faults
from dailypapers.db import bulk, extras, models, signals
from dailypapers.db.engine import backend_of
from dailypapers.db.vector_store import vector_store

assert extras and signals  # their models belong to the metadata copied
TABLES: list[Table] = list(models.Base.metadata.sorted_tables)
VECTORS = "paper_embeddings"  # copied through the vector store

# Tables of a database the models do not name: each backend's own, rebuilt or kept by the target.
OWN_TABLES = {
    "alembic_version": "the target's migrations write their own",
    "data_changes": "PostgreSQL's page-cache change counter: the target's own",
    "paper_category_codes": "PostgreSQL's category codes: the target's triggers write them",
    "paper_day_codes": "PostgreSQL's codes by announce day: the target's triggers write them",
    "paper_set_changes": "SQLite's set-of-papers change number: the target's own",
    "papers_fts": "SQLite's FTS5 keyword index: rebuilt from papers on the target",
    "papers_fts_config": "part of the FTS5 index",
    "papers_fts_data": "part of the FTS5 index",
    "papers_fts_docsize": "part of the FTS5 index",
    "papers_fts_idx": "part of the FTS5 index",
    "dailypapers_move": "this copier's progress (a copy that was itself the target of a move)",
}
# Columns the models do not name, likewise.
OWN_COLUMNS = {
    ("papers", "search_vector"): "PostgreSQL's generated tsvector: generated on the target",
    ("paper_embeddings", "embedding"): "the pgvector halfvec: copied by the vector store",
}

IDENTITY = "*"  # the progress row naming the source
_meta = MetaData()
PROGRESS = Table(
    "dailypapers_move",
    _meta,
    Column("name", String(100), primary_key=True),
    Column("source", String(1000), nullable=False),
    Column("position", Text),  # JSON list: the key of the last row copied
    Column("copied", BigInteger, nullable=False, default=0),
    Column("done", Boolean, nullable=False, default=False),
)


class CannotCopy(Exception):
    """The source holds something this copier does not know how to copy."""


def check_copyable(source: Engine) -> None:
    """Raise :class:`CannotCopy` unless every table and column of ``source`` is either one the
    models name (with a primary key of integers and strings) or one of the backends' own."""
    found = inspect(source)
    names = set(found.get_table_names())
    warnings.filterwarnings("ignore", "Did not recognize type 'halfvec'", exc.SAWarning)
    for table in TABLES:
        keys = list(table.primary_key.columns)
        if not keys:
            raise CannotCopy(f"table {table.name} has no primary key: no order to copy it in")
        for key in keys:
            if not isinstance(key.type, Integer | String):
                raise CannotCopy(f"table {table.name}: key column {key.name} is {key.type}")
        if table.name not in names:
            raise CannotCopy(f"the source has no table {table.name}: is its schema up to date?")
        present = {c["name"] for c in found.get_columns(table.name)}
        missing = {c.name for c in table.columns} - present
        if missing:
            raise CannotCopy(f"the source's {table.name} lacks {', '.join(sorted(missing))}")
        extra = present - {c.name for c in table.columns}
        unknown = sorted(c for c in extra if (table.name, c) not in OWN_COLUMNS)
        if unknown:
            raise CannotCopy(
                f"the source's {table.name} has column(s) {', '.join(unknown)} this version "
                "does not know how to copy"
            )
    known = {t.name for t in TABLES} | set(OWN_TABLES)
    unknown_tables = sorted(n for n in names - known if not n.startswith("sqlite_"))
    if unknown_tables:
        raise CannotCopy(
            f"the source has table(s) {', '.join(unknown_tables)} this version does not know "
            "how to copy"
        )


def rows_in(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def tables_with_rows(conn: Connection) -> list[str]:
    """The model tables holding at least one row."""
    return [t.name for t in TABLES if conn.execute(select(1).select_from(t).limit(1)).first()]


def recorded_source(conn: Connection) -> str | None:
    """The source this database is a (partial) copy of, or None when it is not one."""
    if not inspect(conn).has_table(PROGRESS.name):
        return None
    row = conn.execute(select(PROGRESS.c.source).where(PROGRESS.c.name == IDENTITY)).first()
    return None if row is None else str(row.source)


def record_source(conn: Connection, source: str) -> None:
    """Create the progress table and name the source (in the caller's transaction)."""
    PROGRESS.create(conn, checkfirst=True)
    if recorded_source(conn) is None:
        conn.execute(insert(PROGRESS).values(name=IDENTITY, source=source, done=False))


def _progress(conn: Connection, table: str, source: str) -> tuple[list[Any] | None, bool]:
    row = conn.execute(
        select(PROGRESS.c.position, PROGRESS.c.done).where(PROGRESS.c.name == table)
    ).first()
    if row is None:
        conn.execute(insert(PROGRESS).values(name=table, source=source, copied=0, done=False))
        return None, False
    return (None if row.position is None else json.loads(row.position)), bool(row.done)


def _after(keys: Sequence[Column[Any]], position: list[Any]) -> ColumnElement[bool]:
    after: ColumnElement[bool] = (
        keys[0] > position[0] if len(keys) == 1 else tuple_(*keys) > tuple_(*position)
    )
    return after


def _read_batch(
    conn: Connection, table: Table, position: list[Any] | None, limit: int
) -> tuple[list[Any], list[Any] | None]:
    """Up to ``limit`` rows after ``position`` and the key of the last one."""
    keys = list(table.primary_key.columns)
    if table.name == VECTORS:
        after = -1 if position is None else int(position[0])
        vectors = vector_store(conn).export_rows(conn, after, limit)
        return vectors, ([vectors[-1].id] if vectors else None)
    query = select(*table.columns).order_by(*keys).limit(limit)
    if position is not None:
        query = query.where(_after(keys, position))
    rows = conn.execute(query).all()
    last = [getattr(rows[-1], k.name) for k in keys] if rows else None
    return [row._asdict() for row in rows], last


def _insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One statement per batch on PostgreSQL (executemany would be a statement, and a run of the
    change-counter trigger, per row); SQLite's executemany is as fast."""
    if backend_of(conn) == "postgresql":
        bulk.insert_typed(conn, table, rows)
    else:
        conn.execute(insert(table), rows)


def copy_table(
    source: Engine,
    target: Engine,
    table: Table,
    source_id: str,
    batch: int,
    on_rows: Callable[[int], None],
) -> int:
    """Copy the rows of ``table`` the target lacks, batch by batch (see the module docstring);
    ``on_rows`` hears each batch's size. The rows copied by this call."""
    with target.begin() as conn:
        position, done = _progress(conn, table.name, source_id)
    copied = 0
    while not done:
        with source.connect() as read:
            rows, last = _read_batch(read, table, position, batch)
        with target.begin() as write:
            if rows:
                if table.name == VECTORS:
                    vector_store(write).import_rows(write, rows)
                else:
                    _insert(write, table, rows)
                faults.crash_point("move-batch")  # rows written, position not yet: one commit
            write.execute(
                update(PROGRESS)
                .where(PROGRESS.c.name == table.name)
                .values(
                    position=json.dumps(last) if rows else PROGRESS.c.position,
                    copied=PROGRESS.c.copied + len(rows),
                    done=len(rows) < batch,
                )
            )
        position, done = last or position, len(rows) < batch
        copied += len(rows)
        on_rows(len(rows))
    return copied


def copied_so_far(conn: Connection) -> dict[str, int]:
    """Rows already copied, per table (0 before a first move)."""
    if not inspect(conn).has_table(PROGRESS.name):
        return {}
    rows = conn.execute(select(PROGRESS.c.name, PROGRESS.c.copied)).all()
    return {str(r.name): int(r.copied) for r in rows if r.name != IDENTITY}


def finish(target: Engine) -> None:
    """After the last table: sequences past the copied ids (PostgreSQL; SQLite takes max + 1
    itself), the vector indexes, the keyword index (SQLite's FTS5; PostgreSQL's is generated)."""
    from dailypapers.db import keyword_index

    with target.begin() as conn:
        if backend_of(conn) == "postgresql":
            for table in TABLES:
                keys = list(table.primary_key.columns)
                if len(keys) != 1 or not isinstance(keys[0].type, Integer):
                    continue
                sequence = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": keys[0].name},
                ).scalar()
                if sequence is not None:
                    conn.execute(
                        text(
                            f"SELECT setval(:s, COALESCE(MAX({keys[0].name}), 1), "
                            f"MAX({keys[0].name}) IS NOT NULL) FROM {table.name}"
                        ),
                        {"s": sequence},
                    )
        vector_store(conn).ensure_indexes(conn)
    keyword_index.catch_up(target)
    with target.begin() as conn:
        conn.execute(update(PROGRESS).where(PROGRESS.c.name == IDENTITY).values(done=True))
