"""Which papers a digest holds (``dailypapers.digest.select``), without rendering or sending: its
period and ledger key, the sections a subscriber gets (trending, categories, saved searches), in
which order, and that a run computes each section once however many subscribers share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import Paper, SavedSearch, Subscription
from dailypapers.digest.preview import parse_period_key
from dailypapers.digest.select import (
    Section,
    SectionSource,
    digest_period,
    period_key,
    searches_by_subscription,
)
from dailypapers.services.periods import Period
from tests.helpers import add_papers, record

FRIDAY = date(2025, 6, 20)  # ISO week 2025-W25: Monday 16 to Sunday 22 June
WEEK = digest_period("weekly", FRIDAY)


@pytest.fixture
def papers(engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00010", "2025-06-10", title="Old speech paper", categories=["cs.CL"]),
        record("2506.00014", "2025-06-14", title="Saturday speech", categories=["cs.CL"]),
        record("2506.00016", "2025-06-16", title="Monday robots", categories=["cs.RO"]),
        record(
            "2506.10001",
            "2025-06-20",
            title="Speech   tokens\n that listen",
            abstract="We  study\n speech.",
            categories=["cs.CL", "cs.LG"],
            code_url="https://github.com/example/speech",
        ),
        record("2506.10002", "2025-06-20", title="Robots that fold laundry", categories=["cs.RO"]),
        record("2506.10003", "2025-06-20", title="Quiet speech models", categories=["cs.CL"]),
        record("2506.20001", "2025-06-23", title="Next week's laundry", categories=["cs.RO"]),
    )
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.arxiv_id == "2506.10003").values(upvotes=5))
        conn.execute(update(Paper).where(Paper.arxiv_id == "2506.00014").values(upvotes=6))


def sub(*, trending: bool = True, categories: str = "") -> Subscription:
    """A subscription as a run sees it (section choice reads only its preferences)."""
    return Subscription(email="r@example.org", trending=trending, categories=categories)


def search(query: str, category: str = "") -> SavedSearch:
    return SavedSearch(query=query, category=category)


def ids(section: Section) -> list[str]:
    return [p.arxiv_id for p in section.papers]


@contextmanager
def counted_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- periods --------------------------------------------------------------------------------------


def test_daily_and_weekly_periods_and_their_keys() -> None:
    daily = digest_period("daily", FRIDAY)
    assert daily == Period("day", FRIDAY, FRIDAY) and period_key(daily) == "day:2025-06-20"
    assert WEEK == Period("week", date(2025, 6, 16), date(2025, 6, 22))
    assert period_key(WEEK) == "week:2025-W25"
    for day in (date(2025, 6, 16), date(2025, 6, 22)):  # Monday and Sunday: the same week
        assert digest_period("weekly", day) == WEEK
    assert period_key(digest_period("weekly", date(2025, 6, 23))) == "week:2025-W26"


@pytest.mark.parametrize(
    ("day", "key", "monday"),
    [
        (date(2024, 12, 30), "week:2025-W01", date(2024, 12, 30)),  # a Monday in the next ISO year
        (date(2025, 1, 1), "week:2025-W01", date(2024, 12, 30)),
        (date(2021, 1, 3), "week:2020-W53", date(2020, 12, 28)),  # a Sunday in last year's W53
        (date(2027, 1, 1), "week:2026-W53", date(2026, 12, 28)),
        (date(2026, 12, 31), "week:2026-W53", date(2026, 12, 28)),
        (date(2024, 2, 29), "week:2024-W09", date(2024, 2, 26)),
    ],
)
def test_weekly_periods_are_iso_weeks_across_year_ends(day: date, key: str, monday: date) -> None:
    period = digest_period("weekly", day)
    assert period_key(period) == key
    assert (period.start, period.end.toordinal() - period.start.toordinal()) == (monday, 6)
    assert period_key(digest_period("daily", day)) == f"day:{day.isoformat()}"


@pytest.mark.parametrize("day", [date(2024, 12, 30), date(2021, 1, 3), FRIDAY, date(2027, 1, 1)])
def test_period_keys_read_back_as_the_same_period(day: date) -> None:
    """The ledger's key is what "view in browser" links carry: it must name the same period."""
    for frequency in ("daily", "weekly"):
        period = digest_period(frequency, day)  # type: ignore[arg-type]
        assert parse_period_key(period_key(period)) == period


# --- sections ---------------------------------------------------------------------------------


def test_a_subscribers_sections_come_in_a_fixed_order_without_empty_ones(
    engine: Engine, papers: None
) -> None:
    chosen = sub(categories="cs.RO math.AG cs.CL")  # math.AG has nothing that day
    searches = [search("laundry"), search("nothing-matches-this"), search("speech")]
    with Session(engine) as session:
        source = SectionSource(session, digest_period("daily", FRIDAY), per_section=10)
        sections = source.for_subscription(chosen, searches)
        assert [s.title for s in sections] == [
            "Trending",
            "New in cs.RO",
            "New in cs.CL",
            "Search: laundry",
            "Search: speech",
        ]
        kinds = ["trending", "category", "category", "search", "search"]
        assert [s.kind for s in sections] == kinds
        untrending = source.for_subscription(sub(trending=False, categories="cs.RO"), [])
        assert [s.title for s in untrending] == ["New in cs.RO"]
        assert source.for_subscription(sub(trending=False, categories="math.AG"), []) == []


def test_a_category_section_holds_the_periods_papers_by_upvotes(
    engine: Engine, papers: None
) -> None:
    with Session(engine) as session:
        day = SectionSource(session, digest_period("daily", FRIDAY), per_section=10)
        assert ids(day.category("cs.CL")) == ["2506.10003", "2506.10001"]  # 5 upvotes first
        assert ids(day.category("cs.LG")) == ["2506.10001"]  # a cross-listed category counts
        week = SectionSource(session, WEEK, per_section=10)
        assert ids(week.category("cs.RO")) == ["2506.10002", "2506.00016"]
        assert ids(SectionSource(session, WEEK, per_section=1).category("cs.RO")) == ["2506.10002"]


def test_papers_are_plain_values_with_tidy_whitespace(engine: Engine, papers: None) -> None:
    with Session(engine) as session:
        section = SectionSource(session, digest_period("daily", FRIDAY), 10).category("cs.LG")
    [paper] = section.papers  # the session is closed: rendering needs no database
    assert (paper.title, paper.abstract) == ("Speech tokens that listen", "We study speech.")
    assert paper.authors == ("Ada Lovelace", "Alan Turing")
    assert paper.code_url == "https://github.com/example/speech" and paper.upvotes == 0


def test_trending_covers_the_week_up_to_a_daily_digests_day_and_a_weekly_digests_week(
    engine: Engine, papers: None
) -> None:
    with Session(engine) as session:
        daily = SectionSource(session, digest_period("daily", FRIDAY), 10).trending()
        weekly = SectionSource(session, WEEK, 10).trending()
    # daily: 14 to 20 June (the 7 days up to Friday); never the 10th, nor the later 23rd
    assert set(ids(daily)) == {"2506.00014", "2506.00016", "2506.10001", "2506.10002", "2506.10003"}
    assert ids(daily)[:2] == ["2506.10003", "2506.00014"]  # by trending score, not upvotes
    # weekly: Monday 16 to Sunday 22 only
    assert set(ids(weekly)) == {"2506.00016", "2506.10001", "2506.10002", "2506.10003"}


def test_saved_searches_are_restricted_to_the_period_and_category(
    engine: Engine, papers: None
) -> None:
    with Session(engine) as session:
        day = SectionSource(session, digest_period("daily", FRIDAY), 10)
        assert ids(day.search("laundry", "")) == ["2506.10002"]  # not next week's laundry
        assert set(ids(day.search("speech", ""))) == {"2506.10001", "2506.10003"}  # not the 14th
        in_cl = day.search("laundry", "cs.CL")
        assert in_cl.title == "Search: laundry (in cs.CL)" and in_cl.papers == ()
        next_week = SectionSource(session, digest_period("weekly", date(2025, 6, 23)), 10)
        assert ids(next_week.search("laundry", "cs.RO")) == ["2506.20001"]


def test_a_saved_search_for_an_arxiv_id_shows_that_paper_only_in_its_period(
    engine: Engine, papers: None
) -> None:
    """On the search page an id jumps to its paper whatever the filters; in a digest it must
    not put the same paper into every period's mail."""
    with Session(engine) as session:
        day = SectionSource(session, digest_period("daily", FRIDAY), 10)
        assert day.search("2506.20001", "").papers == ()  # announced on the 23rd
        assert day.search("https://arxiv.org/abs/2506.20001v2", "").papers == ()
        assert ids(day.search("arXiv:2506.10002", "")) == ["2506.10002"]
        assert day.search("2506.10002", "cs.CL").papers == ()  # in the period, not the category
        assert ids(day.search("2506.10001", "cs.LG")) == ["2506.10001"]  # a cross-list counts


def test_sections_are_computed_once_per_key_and_shared(engine: Engine, papers: None) -> None:
    first = sub(categories="cs.CL cs.RO")
    second = sub(categories="cs.RO cs.CL")
    with Session(engine) as session:
        source = SectionSource(session, digest_period("daily", FRIDAY), per_section=10)
        mine = source.for_subscription(first, [search("speech")])
        with counted_queries(engine) as statements:
            theirs = source.for_subscription(second, [search("speech")])
        assert statements == []  # every section came from the run's cache
        shared = {s.key: s for s in theirs}
        assert shared.keys() == {s.key for s in mine}
        assert all(section is shared[section.key] for section in mine)  # the same objects
        with counted_queries(engine) as statements:
            other = source.search("speech", "cs.CL")  # another category: another section
        assert statements and other.key != source.search("speech", "").key
        with counted_queries(engine) as statements:
            source.for_subscription(sub(categories="cs.LG"), [])
        assert len(statements) > 0  # a new category is queried once ...
        with counted_queries(engine) as statements:
            source.for_subscription(sub(categories="cs.LG"), [])
        assert statements == []  # ... and only once


def test_searches_by_subscription_groups_in_creation_order(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        subs = [
            Subscription(email=f"s{n}@example.org", key="k", status="active", frequency="daily")
            for n in range(520)  # more than one chunk of 500 ids
        ]
        for row in subs:
            row.created_at = utcnow()
        session.add_all(subs)
        session.flush()
        first, middle, last = subs[0], subs[450], subs[-1]
        session.add_all(
            [
                SavedSearch(subscription_id=last.id, query="a", created_at=datetime(2025, 6, 3)),
                SavedSearch(subscription_id=first.id, query="x", created_at=datetime(2025, 6, 1)),
                SavedSearch(subscription_id=last.id, query="b", created_at=datetime(2025, 6, 2)),
                SavedSearch(subscription_id=middle.id, query="m", created_at=datetime(2025, 6, 1)),
            ]
        )
        session.commit()
        found = searches_by_subscription(session, [s.id for s in subs])
        assert {key: [s.query for s in rows] for key, rows in found.items()} == {
            first.id: ["x"],
            middle.id: ["m"],
            last.id: ["b", "a"],  # oldest first, whatever the insertion order
        }
        assert searches_by_subscription(session, [first.id]).keys() == {first.id}
        assert searches_by_subscription(session, []) == {}
