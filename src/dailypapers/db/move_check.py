"""Checking a move (``dailypapers migrate-db``): the same rows on both sides.

Per table: the row counts, and a sample of rows compared value by value — :data:`WINDOWS` runs of
:data:`WINDOW` consecutive rows spread over the table in key order (the first and the last rows
always among them), read from the source and looked up by key in the target. Vectors are compared
as numbers, within half precision (pgvector's ``halfvec`` keeps about three significant digits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Table, select, tuple_

from dailypapers.db.move import TABLES, VECTORS, rows_in
from dailypapers.db.vector_store import VectorRow, vector_store

WINDOWS = 8
WINDOW = 25
# float32 -> halfvec: a relative error up to 2**-11, and pgvector's text form keeps 5 digits.
VECTOR_RTOL = 2e-3
VECTOR_ATOL = 1e-3


@dataclass(frozen=True)
class TableCheck:
    name: str
    source_rows: int
    target_rows: int
    sampled: int
    difference: str | None  # the first row that differs, or None

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.difference is None


def verify(source: Engine, target: Engine, tables: Sequence[Table] = TABLES) -> list[TableCheck]:
    """Counts and a sample of rows of every table, on both sides."""
    checks = []
    with source.connect() as src, target.connect() as dst:
        for table in tables:
            counted = rows_in(src, table), rows_in(dst, table)
            if table.name == VECTORS:
                sampled, difference = _compare_vectors(src, dst, counted[0])
            else:
                sampled, difference = _compare_rows(src, dst, table, counted[0])
            checks.append(TableCheck(table.name, *counted, sampled, difference))
    return checks


def _offsets(total: int) -> list[int]:
    if total <= WINDOWS * WINDOW:
        return [0]
    last = total - WINDOW
    return sorted({round(i * last / (WINDOWS - 1)) for i in range(WINDOWS)})


def _same(a: Any, b: Any) -> bool:  # noqa: ANN401 - any column's value
    if isinstance(a, memoryview | bytearray):
        a = bytes(a)
    if isinstance(b, memoryview | bytearray):
        b = bytes(b)
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return bool(a == b)


def _compare_rows(
    src: Connection, dst: Connection, table: Table, total: int
) -> tuple[int, str | None]:
    keys = list(table.primary_key.columns)
    sampled = 0
    for offset in _offsets(total):
        rows = src.execute(
            select(*table.columns).order_by(*keys).offset(offset).limit(WINDOW)
        ).all()
        if not rows:
            continue
        wanted = [tuple(getattr(r, k.name) for k in keys) for r in rows]
        where = keys[0].in_([w[0] for w in wanted]) if len(keys) == 1 else tuple_(*keys).in_(wanted)
        found = {
            tuple(getattr(r, k.name) for k in keys): r
            for r in dst.execute(select(*table.columns).where(where)).all()
        }
        for key, row in zip(wanted, rows, strict=True):
            other = found.get(key)
            if other is None:
                return sampled, f"row {key} is missing from the target"
            for column in table.columns:
                if not _same(getattr(row, column.name), getattr(other, column.name)):
                    return sampled, f"row {key}: {column.name} differs"
            sampled += 1
    return sampled, None


def _compare_vectors(src: Connection, dst: Connection, total: int) -> tuple[int, str | None]:
    sampled = 0
    for offset in _offsets(total):
        first = src.execute(
            select(VECTORS_TABLE.c.id).order_by(VECTORS_TABLE.c.id).offset(offset).limit(1)
        ).scalar()
        if first is None:
            continue
        ours = vector_store(src).export_rows(src, int(first) - 1, WINDOW)
        theirs = {r.id: r for r in vector_store(dst).export_rows(dst, int(first) - 1, WINDOW)}
        for row in ours:
            problem = _vector_difference(row, theirs.get(row.id))
            if problem:
                return sampled, problem
            sampled += 1
    return sampled, None


def _vector_difference(row: VectorRow, other: VectorRow | None) -> str | None:
    if other is None:
        return f"vector row {row.id} is missing from the target"
    for name in ("paper_id", "model", "dim", "text_digest", "created_at"):
        if not _same(getattr(row, name), getattr(other, name)):
            return f"vector row {row.id}: {name} differs"
    if not np.allclose(row.vector, other.vector, rtol=VECTOR_RTOL, atol=VECTOR_ATOL):
        return f"vector row {row.id}: the vector differs"
    return None


VECTORS_TABLE = next(t for t in TABLES if t.name == VECTORS)
