"""What narrows a search (category, announce-date range), as SQL both halves of search share.

:func:`filter_sql` is the one definition keyword and dense search both filter with, and
:func:`kept_ids` applies it to ids found some other way (a vector index, a keyword scan).
:func:`filtered_ids` lists every paper a filter leaves, reading an index instead of the papers.

The category is a correlated ``EXISTS`` on ``paper_categories``' primary key (category, paper_id):
one index probe per paper the query already holds. The earlier ``id IN (SELECT paper_id ...)``
made SQLite build the whole category's id list first, for every query: cs.LG is 413 k of 1 M
papers, seconds a search (benchmarks/search_latency.py). PostgreSQL plans both as a semi-join.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from dailypapers.db.dialect import id_array
from dailypapers.db.engine import backend_of

SearchSort = Literal["relevance", "date", "upvotes"]


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search (category, announce-date range) and how its results are ordered."""

    category: str | None = None
    since: date | None = None
    until: date | None = None
    sort: SearchSort = "relevance"

    @property
    def narrows(self) -> bool:
        return bool(self.category or self.since or self.until)


def filter_sql(
    conn: Connection, filters: SearchFilters, alias: str = "p", *, live: bool = True
) -> tuple[list[str], dict[str, object]]:
    """WHERE conditions (on papers as ``alias``) and their parameters: not deleted (unless
    ``live`` is false), in the category and date range."""
    # On SQLite "+" keeps the planner from choosing ix_papers_deleted_at for this (nearly every row
    # passes it; without statistics it would scan that index instead of the date or id index).
    # PostgreSQL has statistics (and no unary + on timestamps).
    hint = "+" if backend_of(conn) == "sqlite" else ""
    where = [f"{hint}{alias}.deleted_at IS NULL"] if live else []
    params: dict[str, object] = {}
    if filters.category:
        where.append(
            "EXISTS (SELECT 1 FROM paper_categories fc "
            f"WHERE fc.category = :category AND fc.paper_id = {alias}.id)"
        )
        params["category"] = filters.category
    if filters.since:
        where.append(f"{alias}.announced_on >= :since")
        params["since"] = filters.since.isoformat()
    if filters.until:
        where.append(f"{alias}.announced_on <= :until")
        params["until"] = filters.until.isoformat()
    return where, params


def _among(conn: Connection, column: str) -> str:
    """SQL: ``column`` is one of the ids in the parameter ``:ids`` (given by :func:`_id_list`)."""
    if backend_of(conn) == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(:ids))"
    return f"{column} = ANY(CAST(:ids AS bigint[]))"


def _id_list(conn: Connection, ids: NDArray[np.int64]) -> object:
    return json.dumps(ids.tolist()) if backend_of(conn) == "sqlite" else ids.tolist()


def _deleted(conn: Connection) -> NDArray[np.int64]:
    """The deleted papers (few; a partial index lists them)."""
    return id_array(conn, "SELECT id FROM papers WHERE deleted_at IS NOT NULL", {})


def kept_ids(conn: Connection, ids: Sequence[int], filters: SearchFilters) -> list[int]:
    """``ids`` in their order, without those that are deleted or outside the filter.

    Each condition reads as little as it can: the category from ``paper_categories``' primary key,
    the dates from the rows of the papers still in, deletions from their partial index (a
    paper's row is a random read in a large database: ~5-20 us each)."""
    if not ids:
        return []
    kept = np.array(list(ids), np.int64)
    kept = kept[~np.isin(kept, _deleted(conn))]
    if filters.category and len(kept):
        sql = "SELECT paper_id FROM paper_categories WHERE category = :category AND " + _among(
            conn, "paper_id"
        )
        params: dict[str, object] = {"category": filters.category, "ids": _id_list(conn, kept)}
        kept = kept[np.isin(kept, id_array(conn, sql, params))]
    dated = filters.since or filters.until
    if (dated or not filters.category) and len(kept):  # (a paper in a category exists)
        dates = SearchFilters(since=filters.since, until=filters.until)
        where, params = filter_sql(conn, dates, live=False)
        sql = f"SELECT p.id FROM papers p WHERE {' AND '.join([_among(conn, 'p.id'), *where])}"
        kept = kept[np.isin(kept, id_array(conn, sql, {**params, "ids": _id_list(conn, kept)}))]
    return [int(i) for i in kept]


def passing_sql(conn: Connection, filters: SearchFilters) -> tuple[str, dict[str, object]]:
    """A SELECT of the ids of the live papers that pass ``filters`` (which must narrow), and its
    parameters, for a query that reads those papers' rows of another table (PostgreSQL's exact
    dense search). A category alone is read from its rows of ``paper_categories`` (deleted
    papers, few, from their partial index): as a semi-join of papers the planner read the whole
    date index of papers (100 k entries, 10-20 ms at 100 k papers) to hash it."""
    if not filters.narrows:
        raise ValueError("passing_sql needs a filter that narrows")
    if filters.category and not (filters.since or filters.until):
        return (
            "SELECT fc.paper_id FROM paper_categories fc WHERE fc.category = :category "
            "AND fc.paper_id NOT IN (SELECT d.id FROM papers d WHERE d.deleted_at IS NOT NULL)",
            {"category": filters.category},
        )
    where, params = filter_sql(conn, filters)
    return f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}", params


def filtered_ids(conn: Connection, filters: SearchFilters) -> NDArray[np.int64]:
    """Every paper that passes ``filters`` (which must narrow), read from an index: the category's
    rows of ``paper_categories`` or the date index of ``papers``; deleted papers (a partial index
    lists them) are dropped here rather than by reading each paper's row."""
    params: dict[str, object] = {"category": filters.category}
    if filters.since or filters.until:
        where, params = filter_sql(conn, filters, live=False)  # the date index holds no deleted_at
        sql = f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}"
    elif filters.category:
        sql = "SELECT paper_id FROM paper_categories WHERE category = :category"
    else:
        raise ValueError("filtered_ids needs a filter that narrows")
    ids = id_array(conn, sql, params)
    gone = _deleted(conn)
    return ids[~np.isin(ids, gone)] if len(gone) else ids
