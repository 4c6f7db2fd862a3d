"""PostgreSQL's driver path for the upsert: a batch of rows read and written as whole columns.

The upsert (:mod:`dailypapers.upsert`) compares and merges papers as flat rows (JSON text, ISO
dates, ``0``/``1`` flags): the form SQLite stores, which its driver path writes as it is. This is
the same for PostgreSQL: each column of a batch travels as one array parameter, and the SQL
unpacks them (``unnest``) and casts each to its column's type, so nothing is converted per row in
Python and a batch is one statement whatever its size:

- :func:`select_flat`: stored rows in the flat form (``authors::text``, ``to_char`` dates, flags
  as integers);
- :func:`insert_flat`: ``INSERT ... SELECT ... FROM unnest(...)``; :func:`insert_absent` the same,
  skipping rows whose key is taken (``ON CONFLICT DO NOTHING``), for a first import's writers;
- :func:`update_flat`: ``UPDATE ... FROM unnest(...)``, matched on the id;
- :func:`next_ids`: ids from the table's sequence, so category rows can be written with their
  papers in the same round of statements;
- :func:`insert_typed`: rows as SQLAlchemy reads them (dates, JSON values...), one statement per
  batch, each column an array of its own type (``dailypapers migrate-db``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Table,
    text,
)
from sqlalchemy.types import TypeEngine


def _array_type(column_type: TypeEngine[Any]) -> str:
    """The array type a column's flat values travel in."""
    if isinstance(column_type, Boolean | Integer):
        return "integer[]"
    return "text[]"


def _from_flat(name: str, column_type: TypeEngine[Any]) -> str:
    """SQL turning an unnested flat value ``u.name`` into the column's type."""
    if isinstance(column_type, JSON):
        return f"u.{name}::json"
    if isinstance(column_type, Date):
        return f"u.{name}::date"
    if isinstance(column_type, Boolean):
        return f"u.{name}::boolean"
    return f"u.{name}"


def _as_flat(name: str, column_type: TypeEngine[Any]) -> str:
    """SQL reading column ``name`` in its flat form."""
    if isinstance(column_type, JSON):
        return f"{name}::text"
    if isinstance(column_type, Date):
        return f"to_char({name}, 'YYYY-MM-DD')"
    if isinstance(column_type, Boolean):
        return f"{name}::integer"
    return name


def _unnest(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[str, dict[str, Any]]:
    """``unnest(...) AS u(columns)`` over ``rows`` (tuples in ``columns``' order) and its params."""
    arrays = [f"CAST(:c{i} AS {_array_type(table.c[name].type)})" for i, name in enumerate(columns)]
    params = {f"c{i}": [row[i] for row in rows] for i in range(len(columns))}
    return f"unnest({', '.join(arrays)}) AS u({', '.join(columns)})", params


def select_flat(
    conn: Connection, table: Table, key: str, values: Sequence[Any], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """``(id, *columns)`` in the flat form for the rows whose ``key`` is one of ``values``."""
    read = ", ".join(_as_flat(name, table.c[name].type) for name in columns)
    return [
        tuple(row)
        for row in conn.execute(
            text(
                f"SELECT id, {read} FROM {table.name} "
                f"WHERE {key} = ANY(CAST(:values AS {_array_type(table.c[key].type)}))"
            ),
            {"values": list(values)},
        )
    ]


def insert_flat(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (flat values in ``columns``' order) in one statement."""
    if not rows:
        return
    source, params = _unnest(table, columns, rows)
    values = ", ".join(_from_flat(name, table.c[name].type) for name in columns)
    conn.execute(
        text(f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {values} FROM {source}"),
        params,
    )


def insert_absent(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]], key: str
) -> set[Any]:
    """Insert the ``rows`` whose unique ``key`` no row has yet (one statement; a row another open
    transaction is inserting is waited for); return the keys inserted."""
    if not rows:
        return set()
    source, params = _unnest(table, columns, rows)
    values = ", ".join(_from_flat(name, table.c[name].type) for name in columns)
    return set(
        conn.execute(
            text(
                f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {values} FROM {source} "
                f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
            ),
            params,
        ).scalars()
    )


def update_flat(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    touch: str | None = None,
) -> None:
    """Set ``columns[1:]`` of the rows whose id is ``columns[0]`` (``"id"``) in one statement;
    ``touch``: a timestamp column set to now as well."""
    if not rows:
        return
    assert columns[0] == "id"
    source, params = _unnest(table, columns, rows)
    sets = [f"{name} = {_from_flat(name, table.c[name].type)}" for name in columns[1:]]
    if touch is not None:
        sets.append(f"{touch} = CURRENT_TIMESTAMP")
    conn.execute(
        text(
            f"UPDATE {table.name} SET {', '.join(sets)} FROM {source} WHERE {table.name}.id = u.id"
        ),
        params,
    )


def next_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` new ids from the table's id sequence, ascending."""
    return [
        int(i)
        for i in conn.execute(
            text(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                "FROM generate_series(1, :n) ORDER BY 1"
            ),
            {"n": count},
        ).scalars()
    ]


def _typed_array(column_type: TypeEngine[Any]) -> tuple[str, str]:
    """The array type a column's values travel in, and the cast from an element to the column."""
    if isinstance(column_type, JSON):
        return "text[]", "::json"
    for kind, array in (
        (Boolean, "boolean[]"),
        (Integer, "bigint[]"),
        (Float, "float8[]"),
        (DateTime, "timestamp[]"),
        (Date, "date[]"),
        (LargeBinary, "bytea[]"),
    ):
        if isinstance(column_type, kind):
            return array, ""
    return "text[]", ""


def insert_typed(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (every column of ``table``, as SQLAlchemy reads them) in one statement."""
    if not rows:
        return
    names, arrays, values, params = [], [], [], {}
    for i, column in enumerate(table.columns):
        array, cast = _typed_array(column.type)
        names.append(column.name)
        arrays.append(f"CAST(:c{i} AS {array})")
        values.append(f"u.c{i}{cast}")
        column_values = [row[column.name] for row in rows]
        if isinstance(column.type, JSON):
            column_values = [
                None if v is None else json.dumps(v, ensure_ascii=False) for v in column_values
            ]
        params[f"c{i}"] = column_values
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    quoted = ", ".join(f'"{n}"' for n in names)
    conn.execute(
        text(
            f"INSERT INTO {table.name} ({quoted}) "
            f"SELECT {', '.join(values)} FROM unnest({', '.join(arrays)}) AS u({aliases})"
        ),
        params,
    )
