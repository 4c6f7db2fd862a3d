"""Feed and search services on a fresh temporary database per test."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper
from dailypapers.search.fts import SearchFilters
from dailypapers.services.feeds import (
    categories_in,
    feed,
    latest_day,
    neighbour_days,
    trending_period,
)
from dailypapers.services.papers import get_paper, search_papers
from dailypapers.services.periods import day_period, parse_month, parse_week
from tests.helpers import add_papers, record


def _vote(engine: Engine, arxiv_id: str, upvotes: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.arxiv_id == arxiv_id).values(upvotes=upvotes))


def _ids(papers: list[Paper]) -> list[str]:
    return [p.arxiv_id for p in papers]


def test_day_feed_orders_by_upvotes_then_recency(engine: Engine) -> None:
    add_papers(engine, *(record(f"2506.0000{i}", "2025-06-17") for i in range(1, 5)))
    _vote(engine, "2506.00002", 3)
    with Session(engine) as session:
        page = feed(session, day_period(date(2025, 6, 17)))
        assert _ids(page.papers) == ["2506.00002", "2506.00004", "2506.00003", "2506.00001"]
        assert page.total == 4
        second = feed(session, day_period(date(2025, 6, 17)), limit=2, offset=2)
        assert _ids(second.papers) == ["2506.00003", "2506.00001"]


def test_week_and_month_and_category(engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00001", "2025-06-16", categories=["cs.CL", "cs.LG"]),
        record("2506.00002", "2025-06-20", categories=["cs.CV"]),
        record("2506.00003", "2025-06-23", categories=["cs.LG"]),
        record("2505.00004", "2025-05-30", categories=["cs.LG"]),
    )
    with Session(engine) as session:
        week = feed(session, parse_week("2025-W25"))
        assert set(_ids(week.papers)) == {"2506.00001", "2506.00002"}
        june = feed(session, parse_month("2025-06"), sort="publishedAt")
        assert _ids(june.papers) == ["2506.00003", "2506.00002", "2506.00001"]
        learning = feed(session, parse_month("2025-06"), category="cs.LG")
        assert set(_ids(learning.papers)) == {"2506.00001", "2506.00003"} and learning.total == 2
        assert categories_in(session, parse_month("2025-06"))[0] == ("cs.LG", 2)


def test_latest_and_neighbour_days(engine: Engine) -> None:
    with Session(engine) as session:
        assert latest_day(session) is None
    add_papers(engine, record("2506.00001", "2025-06-19"), record("2506.00002", "2025-06-23"))
    with Session(engine) as session:
        assert latest_day(session) == date(2025, 6, 23)
        assert neighbour_days(session, date(2025, 6, 21)) == (date(2025, 6, 19), date(2025, 6, 23))
        assert neighbour_days(session, date(2025, 6, 23)) == (date(2025, 6, 19), None)


def test_trending_ranks_votes_decayed_by_age_then_recency(engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00001", "2025-06-20"),  # 3 days old, 10 votes: 10 / 5**1.5 = 0.89
        record("2506.00002", "2025-06-23"),  # today, 2 votes: 2 / 2**1.5 = 0.71
        record("2506.00003", "2025-06-23"),  # today, no votes
        record("2506.00004", "2025-06-17"),  # old, no votes
        record("2506.00005", "2025-06-10"),  # outside the 7-day window
    )
    _vote(engine, "2506.00001", 10)
    _vote(engine, "2506.00002", 2)
    with Session(engine) as session:
        window = trending_period(session)
        assert window is not None and (window.start, window.end) == (
            date(2025, 6, 17),
            date(2025, 6, 23),
        )
        ranked = feed(session, window, sort="trending")
        assert _ids(ranked.papers) == ["2506.00001", "2506.00002", "2506.00003", "2506.00004"]
        assert _ids(feed(session, window, sort="trending", limit=2, offset=1).papers) == [
            "2506.00002",
            "2506.00003",
        ]
        assert _ids(feed(session, window, sort="trending", limit=2, offset=3).papers) == [
            "2506.00004"
        ]


def test_search_service(engine: Engine) -> None:
    add_papers(
        engine,
        record(
            "2506.00001",
            "2025-06-17",
            title="Sparse attention for long documents",
            abstract="We study sparse attention.",
        ),
        record(
            "2506.00002",
            "2025-06-18",
            title="Graph networks",
            abstract="Attention over graph nodes.",
            categories=["cs.CV"],
        ),
        record("2506.00003", "2025-06-19", title="Unrelated", abstract="Protein folding."),
    )
    with Session(engine) as session:
        hits = search_papers(session, "attention").hits
        assert [h.paper.arxiv_id for h in hits] == ["2506.00001", "2506.00002"]  # title match first
        assert "\x02" in (hits[0].title_marked or "")
        assert search_papers(session, "attention", SearchFilters(category="cs.CV")).total == 1
        assert [
            h.paper.arxiv_id
            for h in search_papers(session, "attention", SearchFilters(sort="date")).hits
        ] == [
            "2506.00002",
            "2506.00001",
        ]
        # every word must match; when none has all, any word ranks
        assert search_papers(session, "sparse attention").total == 1
        assert search_papers(session, "protein attention").total == 3
        exact = search_papers(session, "https://arxiv.org/abs/2506.00003v2")
        assert exact.exact_id and exact.hits[0].paper.arxiv_id == "2506.00003"
        assert search_papers(session, "   ").total == 0
        assert search_papers(session, '"((( NEAR *').total == 0
        assert get_paper(session, "arXiv:2506.00001v1") is not None
        assert get_paper(session, "nonsense") is None
