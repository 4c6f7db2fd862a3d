"""The daily / weekly / monthly feeds and trending: which papers, in which order, on which page.

A period's feed holds the papers announced in it plus those users submitted to it ("daily
picks", status ready); the submitted ones are looked up first (a short id list, usually empty), so
a period without submissions runs exactly the announce-date query the indexes are built for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, UnaryExpression, exists, func, or_, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, PaperCategory, Submission
from dailypapers.ranking.trending import WINDOW_DAYS, trending_key
from dailypapers.services.github_stars import stars_for
from dailypapers.services.periods import Period, day_period, month_period, week_period
from dailypapers.services.submissions import READY, period_submitters

FeedSort = Literal["upvotes", "publishedAt", "trending"]


@dataclass(frozen=True, slots=True)
class FeedPage:
    papers: list[Paper]
    total: int
    submitted_by: dict[int, str] = field(default_factory=dict)  # paper id -> submitter's name
    submitted: list[int] = field(default_factory=list)  # every paper submitted to the period


def latest_day(session: Session) -> date | None:
    """The newest announce date with papers, or None for an empty database."""
    return session.scalar(select(func.max(Paper.announced_on)))


def neighbour_days(session: Session, day: date) -> tuple[date | None, date | None]:
    """The nearest days with announced or submitted papers before and after ``day``.

    One statement of four indexed lookups (four statements cost four times SQLAlchemy's overhead).
    """
    ready = Submission.status == READY
    row = session.execute(
        select(
            select(func.max(Paper.announced_on)).where(Paper.announced_on < day).scalar_subquery(),
            select(func.max(Submission.day)).where(ready, Submission.day < day).scalar_subquery(),
            select(func.min(Paper.announced_on)).where(Paper.announced_on > day).scalar_subquery(),
            select(func.min(Submission.day)).where(ready, Submission.day > day).scalar_subquery(),
        )
    ).one()
    before = max(filter(None, row[:2]), default=None)
    after = min(filter(None, row[2:]), default=None)
    return before, after


def neighbour_periods(session: Session, period: Period) -> tuple[Period | None, Period | None]:
    """The nearest weeks (or months, like ``period``) before and after it that have papers, as
    :func:`neighbour_days` does for days: empty periods in between are skipped."""
    before = neighbour_days(session, period.start)[0]
    after = neighbour_days(session, period.end)[1]
    around = week_period if period.kind == "week" else month_period
    if period.kind == "day":
        around = day_period
    return (around(before) if before else None), (around(after) if after else None)


def _filters(
    period: Period, category: str | None, submitted: list[int]
) -> list[ColumnElement[bool]]:
    """WHERE clauses for papers announced (or submitted) in ``period`` (and in ``category``)."""
    in_period = Paper.announced_on.between(period.start, period.end)
    clauses: list[ColumnElement[bool]] = [
        or_(in_period, Paper.id.in_(submitted)) if submitted else in_period,
        Paper.deleted_at.is_(None),
    ]
    if category:
        clauses.append(
            exists().where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
        )
    return clauses


def feed_filters(
    session: Session, period: Period, category: str | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses (on ``Paper``) for the papers a feed of ``period`` lists: the "For you"
    ranking reorders exactly these."""
    return _filters(period, category, list(period_submitters(session, period.start, period.end)))


def feed(
    session: Session,
    period: Period,
    *,
    sort: FeedSort = "upvotes",
    category: str | None = None,
    limit: int = 30,
    offset: int = 0,
    submitter: str | None = None,
    stars: bool = False,
    curated: bool = False,
) -> FeedPage:
    """Papers of ``period``: by upvotes then recency, by date, or by trending score.

    ``submitter``: only the papers this user (display name, any case) submitted to the period;
    ``stars``: GitHub stars count in the trending score (``DAILYPAPERS_TRENDING_STARS``);
    ``curated``: only the papers submitted or featured for the period (the curated feed)."""
    submitted = period_submitters(session, period.start, period.end)
    where = _filters(period, category, list(submitted))
    if curated:
        where = [Paper.id.in_(list(submitted)), *where[1:]]
    if submitter is not None:
        wanted = submitter.casefold()
        theirs = [pid for pid, name in submitted.items() if name.casefold() == wanted]
        where = [Paper.id.in_(theirs), *where[1:]]
    total = session.scalar(select(func.count(Paper.id)).where(*where)) or 0
    if sort == "trending":
        papers = _trending(session, period, where, limit, offset, stars=stars)
    else:
        papers = _ranked(session, where, sort, limit, offset)
    submitted_by = {p.id: submitted[p.id] for p in papers if p.id in submitted}
    return FeedPage(papers, total, submitted_by, list(submitted))


def _ranked(
    session: Session, where: list[ColumnElement[bool]], sort: FeedSort, limit: int, offset: int
) -> list[Paper]:
    order: list[UnaryExpression[Any]] = [Paper.announced_on.desc(), Paper.arxiv_id.desc()]
    if sort == "upvotes":
        order.insert(0, Paper.upvotes.desc())
    # Order and page on the index columns only, then load the page's rows: sorting whole rows
    # (abstracts included) of a month took ~100 ms, the ids alone take a few.
    ids = session.scalars(
        select(Paper.id).where(*where).order_by(*order).limit(limit).offset(offset)
    )
    return _load(session, list(ids))


def _trending(
    session: Session,
    period: Period,
    where: list[ColumnElement[bool]],
    limit: int,
    offset: int,
    *,
    stars: bool = False,
) -> list[Paper]:
    """Voted papers ranked by trending score, then the unvoted ones newest first.

    Any upvote gives a positive score, so only voted papers need scoring; papers without votes all
    score 0 and tie-break by recency, which the index orders for us. With ``stars``, papers whose
    code is on GitHub are scored too (their stars count as upvotes, see ranking/trending.py).
    """
    scored = Paper.upvotes > 0
    if stars:
        scored = or_(scored, func.lower(Paper.code_url).like("%github.com/%"))
    rows = session.execute(
        select(Paper.id, Paper.upvotes, Paper.announced_on, Paper.arxiv_id, Paper.code_url).where(
            *where, scored
        )
    ).all()
    counts = stars_for(session, {r[0]: r[4] for r in rows}) if stars else {}
    reference = period.end

    def key(r: Any) -> tuple[float, date, str]:
        return trending_key(r[1], r[2], r[3], reference, counts.get(r[0], (0, ""))[0])

    voted = sorted((r for r in rows if r[1] > 0 or r[0] in counts), key=key, reverse=True)
    ids = [row[0] for row in voted[offset : offset + limit]]
    if len(ids) < limit:
        unscored = Paper.upvotes == 0
        if counts:
            unscored = unscored & Paper.id.not_in(list(counts))
        rest = (
            select(Paper.id)
            .where(*where, unscored)
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


def categories_in(
    session: Session,
    period: Period,
    limit: int = 12,
    *,
    submitted: list[int] | None = None,
    curated: bool = False,
) -> list[tuple[str, int]]:
    """The most common categories of the papers in ``period`` (for the filter chips).

    ``submitted``: the period's submitted paper ids when the caller has them (a feed page does);
    ``curated``: of the submitted papers only (the curated feed).
    """
    if submitted is None:
        submitted = list(period_submitters(session, period.start, period.end))
    where = _filters(period, None, submitted)
    if curated:
        where = [Paper.id.in_(submitted), *where[1:]]
    rows = session.execute(
        select(PaperCategory.category, func.count())
        .join(Paper, Paper.id == PaperCategory.paper_id)
        .where(*where)
        .group_by(PaperCategory.category)
        .order_by(func.count().desc(), PaperCategory.category)
        .limit(limit)
    ).all()
    return [(name, int(count)) for name, count in rows]
