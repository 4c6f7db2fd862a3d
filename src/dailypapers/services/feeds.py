"""The daily / weekly / monthly feeds and trending: which papers, in which order, on which page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, UnaryExpression, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, PaperCategory
from dailypapers.ranking.trending import WINDOW_DAYS, trending_key
from dailypapers.services.periods import Period

FeedSort = Literal["upvotes", "publishedAt", "trending"]


@dataclass(frozen=True, slots=True)
class FeedPage:
    papers: list[Paper]
    total: int


def latest_day(session: Session) -> date | None:
    """The newest announce date with papers, or None for an empty database."""
    return session.scalar(select(func.max(Paper.announced_on)))


def neighbour_days(session: Session, day: date) -> tuple[date | None, date | None]:
    """The nearest announce dates with papers before and after ``day``."""
    before = session.scalar(select(func.max(Paper.announced_on)).where(Paper.announced_on < day))
    after = session.scalar(select(func.min(Paper.announced_on)).where(Paper.announced_on > day))
    return before, after


def _filters(period: Period, category: str | None) -> list[ColumnElement[bool]]:
    """WHERE clauses for papers announced in ``period`` (and in ``category``)."""
    clauses: list[ColumnElement[bool]] = [Paper.announced_on.between(period.start, period.end)]
    if category:
        in_category = select(PaperCategory.paper_id).where(PaperCategory.category == category)
        clauses.append(Paper.id.in_(in_category))
    return clauses


def feed(
    session: Session,
    period: Period,
    *,
    sort: FeedSort = "upvotes",
    category: str | None = None,
    limit: int = 30,
    offset: int = 0,
) -> FeedPage:
    """Papers announced in ``period``: by upvotes then recency, by date, or by trending score."""
    where = _filters(period, category)
    total = session.scalar(select(func.count(Paper.id)).where(*where)) or 0
    if sort == "trending":
        return FeedPage(_trending(session, period, where, limit, offset), total)
    order: list[UnaryExpression[Any]] = [Paper.announced_on.desc(), Paper.arxiv_id.desc()]
    if sort == "upvotes":
        order.insert(0, Paper.upvotes.desc())
    query = select(Paper).where(*where).order_by(*order).limit(limit).offset(offset)
    return FeedPage(list(session.scalars(query)), total)


def _trending(
    session: Session, period: Period, where: list[ColumnElement[bool]], limit: int, offset: int
) -> list[Paper]:
    rows = session.execute(
        select(Paper.id, Paper.upvotes, Paper.announced_on, Paper.arxiv_id).where(*where)
    ).all()
    reference = period.end
    ranked = sorted(rows, key=lambda r: trending_key(r[1], r[2], r[3], reference), reverse=True)
    ids = [row[0] for row in ranked[offset : offset + limit]]
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    return [by_id[i] for i in ids]


def trending_period(session: Session) -> Period | None:
    """The window the Trending page ranks: the last week up to the newest announce date."""
    newest = latest_day(session)
    if newest is None:
        return None
    return Period("day", newest - timedelta(days=WINDOW_DAYS - 1), newest)


def categories_in(session: Session, period: Period, limit: int = 12) -> list[tuple[str, int]]:
    """The most common categories of the papers in ``period`` (for the filter chips)."""
    rows = session.execute(
        select(PaperCategory.category, func.count())
        .join(Paper, Paper.id == PaperCategory.paper_id)
        .where(*_filters(period, None))
        .group_by(PaperCategory.category)
        .order_by(func.count().desc(), PaperCategory.category)
        .limit(limit)
    ).all()
    return [(name, int(count)) for name, count in rows]
