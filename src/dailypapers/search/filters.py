"""What narrows a search (category, announce-date range), as SQL both halves of search share.

:func:`filter_sql` is the one definition keyword and dense search both filter with, and
:func:`kept_ids` applies it to ids found some other way (a vector index, a keyword scan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Connection, bindparam, text

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
    conn: Connection, filters: SearchFilters, alias: str = "p"
) -> tuple[list[str], dict[str, object]]:
    """WHERE conditions (on papers as ``alias``) and their parameters: not deleted, in the
    category and date range."""
    # On SQLite "+" keeps the planner from choosing ix_papers_deleted_at for this (nearly every row
    # passes it; without statistics it would scan that index instead of the date or id index).
    # PostgreSQL has statistics (and no unary + on timestamps).
    hint = "+" if backend_of(conn) == "sqlite" else ""
    where = [f"{hint}{alias}.deleted_at IS NULL"]
    params: dict[str, object] = {}
    if filters.category:
        where.append(
            f"{alias}.id IN (SELECT paper_id FROM paper_categories WHERE category = :category)"
        )
        params["category"] = filters.category
    if filters.since:
        where.append(f"{alias}.announced_on >= :since")
        params["since"] = filters.since.isoformat()
    if filters.until:
        where.append(f"{alias}.announced_on <= :until")
        params["until"] = filters.until.isoformat()
    return where, params


def kept_ids(conn: Connection, ids: Sequence[int], filters: SearchFilters) -> list[int]:
    """``ids`` in their order, without those that are deleted or outside the filter."""
    if not ids:
        return []
    where, params = filter_sql(conn, filters)
    allowed = set(
        conn.execute(
            text(
                f"SELECT p.id FROM papers p WHERE p.id IN :ids AND {' AND '.join(where)}"
            ).bindparams(bindparam("ids", expanding=True)),
            {**params, "ids": list(ids)},
        ).scalars()
    )
    return [i for i in ids if i in allowed]
