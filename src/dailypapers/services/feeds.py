"""The daily / weekly / monthly feeds and trending: which papers, in which order, on which page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, UnaryExpression, exists, func, select
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
    clauses: list[ColumnElement[bool]] = [
        Paper.announced_on.between(period.start, period.end),
        Paper.deleted_at.is_(None),
    ]
    if category:
        clauses.append(
            exists().where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
        )
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
    # Order and page on the index columns only, then load the page's rows: sorting whole rows
    # (abstracts included) of a month took ~100 ms, the ids alone take a few.
    ids = session.scalars(
        select(Paper.id).where(*where).order_by(*order).limit(limit).offset(offset)
    )
    return FeedPage(_load(session, list(ids)), total)


def _trending(
    session: Session, period: Period, where: list[ColumnElement[bool]], limit: int, offset: int
) -> list[Paper]:
    """Voted papers ranked by trending score, then the unvoted ones newest first.

    Any upvote gives a positive score, so only voted papers need scoring; papers without votes all
    score 0 and tie-break by recency, which the index orders for us.
    """
    rows = session.execute(
        select(Paper.id, Paper.upvotes, Paper.announced_on, Paper.arxiv_id).where(
            *where, Paper.upvotes > 0
        )
    ).all()
    reference = period.end
    voted = sorted(rows, key=lambda r: trending_key(r[1], r[2], r[3], reference), reverse=True)
    ids = [row[0] for row in voted[offset : offset + limit]]
    if len(ids) < limit:
        rest = (
            select(Paper.id)
            .where(*where, Paper.upvotes == 0)
            .order_by(Paper.announced_on.desc(), Paper.arxiv_id.desc())
            .limit(limit - len(ids))
            .offset(max(offset - len(voted), 0))
        )
        ids += session.scalars(rest)
    return _load(session, ids)


def _load(session: Session, ids: list[int]) -> list[Paper]:
    """The papers with these ids, in this order."""
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


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
