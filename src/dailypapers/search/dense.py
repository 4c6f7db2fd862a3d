"""Dense (semantic) ranking: the papers whose vectors are nearest a query vector, filtered correctly.

An approximate index cannot filter while it searches, so a filtered search either over-fetches
neighbours and drops those outside the filter, or — when the filter leaves few papers (at most
:data:`EXACT_FILTER_MAX`) or over-fetching did not find enough — compares the query with every
vector inside the filter exactly. Results are therefore the true nearest papers that pass the
filter, not merely the ones the index happened to return. Deleted papers are always dropped here,
whatever the index holds.

On PostgreSQL the index is the database (:class:`~dailypapers.vectors.pgvector.PgVectorIndex`), and
the filter goes into the same query as the search: exact (every vector inside a narrow filter) or
through the HNSW index with pgvector's iterative scan, which reads on until ``depth`` papers pass
the filter; should it stop short, the exact query settles it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from dailypapers.search.filters import SearchFilters, filter_sql, kept_ids
from dailypapers.vectors import VectorIndex, search_among
from dailypapers.vectors.pgvector import PgVectorIndex

# A filter that leaves at most this many papers is searched exactly (one matrix product over their
# vectors: ~20k x 384 floats is a few milliseconds), anything wider by over-fetching from the index.
EXACT_FILTER_MAX = 20_000
# Neighbours fetched per wanted result in each over-fetching round (then x8 each round).
OVERFETCH = 8

Vector = NDArray[np.float32]


def _filtered_count(conn: Connection, filters: SearchFilters, cap: int) -> int:
    """How many papers pass the filter, counting no further than ``cap + 1``."""
    where, params = filter_sql(conn, filters)
    return int(
        conn.execute(
            text(
                f"SELECT count(*) FROM (SELECT 1 FROM papers p WHERE {' AND '.join(where)} "
                "LIMIT :cap)"
            ),
            {**params, "cap": cap + 1},
        ).scalar_one()
    )


def exact_ranking(
    conn: Connection, index: VectorIndex, query: Vector, filters: SearchFilters, depth: int
) -> list[int]:
    """The ``depth`` nearest papers among all those passing the filter, by exact cosine."""
    where, params = filter_sql(conn, filters)
    ids = conn.scalars(text(f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}"), params)
    found, _ = search_among(index, query, ids, depth)
    return [int(i) for i in found]


def dense_ranking(
    conn: Connection,
    index: VectorIndex,
    query: Vector,
    filters: SearchFilters | None = None,
    *,
    depth: int = 100,
) -> list[int]:
    """The ids of the ``depth`` papers nearest ``query`` that pass ``filters``, nearest first."""
    filters = filters or SearchFilters()
    if isinstance(index, PgVectorIndex):
        return _ranking_in_sql(conn, index, query, filters, depth)
    size = len(index)
    if size == 0:
        return []
    if filters.narrows and _filtered_count(conn, filters, EXACT_FILTER_MAX) <= EXACT_FILTER_MAX:
        return exact_ranking(conn, index, query, filters, depth)
    k = min(size, depth + 16 if not filters.narrows else depth * OVERFETCH)
    while True:
        ids, _ = index.search(query, k)
        kept = kept_ids(conn, [int(i) for i in ids], filters)
        if len(kept) >= depth or k >= size:
            return kept[:depth]
        if k >= depth * OVERFETCH**3:  # still short: the filter is narrower than it counted
            return exact_ranking(conn, index, query, filters, depth)
        k = min(size, k * OVERFETCH)


def _ranking_in_sql(
    conn: Connection, index: PgVectorIndex, query: Vector, filters: SearchFilters, depth: int
) -> list[int]:
    """PostgreSQL: the filter inside the nearest-neighbour query (see the module docstring)."""
    where, params = filter_sql(conn, filters)
    exact = filters.narrows and _filtered_count(conn, filters, EXACT_FILTER_MAX) <= EXACT_FILTER_MAX
    ids, _ = index.search_where(conn, query, where, params, depth, exact=exact)
    if len(ids) < depth and not exact:  # the scan stopped short: the exact answer is still right
        ids, _ = index.search_where(conn, query, where, params, depth, exact=True)
    return [int(i) for i in ids]
