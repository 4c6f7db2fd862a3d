"""Which papers a digest holds: its period, and its sections (for you, trending, categories,
searches).

Sections are shared between subscribers (everyone who follows cs.CL gets the same "cs.CL"
section), so a run computes each one once through :class:`SectionSource`. Papers become plain
:class:`DigestPaper` values here, so rendering never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, SavedSearch, Subscription
from dailypapers.digest.for_you import TITLE as FOR_YOU_TITLE
from dailypapers.digest.for_you import ForYouSource
from dailypapers.ranking.trending import WINDOW_DAYS
from dailypapers.search.filters import SearchFilters
from dailypapers.search.fts import WordShares
from dailypapers.services.feeds import feed
from dailypapers.services.papers import search_papers
from dailypapers.services.periods import Period, day_period, week_period
from dailypapers.services.subscriptions import Frequency


@dataclass(frozen=True, slots=True)
class DigestPaper:
    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    abstract: str
    upvotes: int
    code_url: str | None
    # For you: why the paper is there ("You follow", "Near your paper") and the links after it
    reason: str = ""
    reason_links: tuple[tuple[str, str], ...] = ()  # (path on the site, label)
    reason_terms: tuple[str, ...] = ()  # the words the subscriber's model weighed most for it

    @classmethod
    def of(
        cls,
        paper: Paper,
        reason: str = "",
        links: tuple[tuple[str, str], ...] = (),
        terms: tuple[str, ...] = (),
    ) -> DigestPaper:
        return cls(
            paper.arxiv_id,
            " ".join(paper.title.split()),
            tuple(paper.authors),
            " ".join(paper.abstract.split()),
            paper.upvotes,
            paper.code_url,
            reason,
            links,
            terms,
        )


SectionKind = Literal["for_you", "trending", "category", "search"]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # the same for every subscriber who gets this section (cache key)
    kind: SectionKind
    title: str
    papers: tuple[DigestPaper, ...]


def digest_period(frequency: Frequency, day: date) -> Period:
    """A daily digest covers one announcement day; a weekly one the ISO week holding ``day``."""
    return day_period(day) if frequency == "daily" else week_period(day)


def period_key(period: Period) -> str:
    """The ledger's name for a period: ``day:2025-06-18`` or ``week:2025-W25``."""
    return f"{period.kind}:{period.label}"


def search_section_papers(
    session: Session,
    query: str,
    category: str,
    period: Period,
    limit: int,
    shares: WordShares | None = None,
) -> list[Paper]:
    """The period's papers matching a saved search (the one call into search)."""
    filters = SearchFilters(category=category or None, since=period.start, until=period.end)
    found = search_papers(session, query, filters, shares=shares, limit=limit)
    papers = [hit.paper for hit in found.hits]
    if found.exact_id:  # an arXiv id names its paper whatever the filters: keep it in its period
        papers = [
            p
            for p in papers
            if period.start <= p.announced_on <= period.end
            and (not category or category in p.category_list)
        ]
    return papers


class SectionSource:
    """Sections for one period, each computed once however many subscribers share it (but
    "For you", the subscriber's own: :mod:`dailypapers.digest.for_you`)."""

    def __init__(self, session: Session, period: Period, per_section: int) -> None:
        self.session = session
        self.period = period
        self.limit = per_section
        self._cache: dict[str, Section] = {}
        self._shares = WordShares()  # the run's: saved searches share their words' counts
        self._for_you = ForYouSource(session, period)

    def for_subscription(self, sub: Subscription, searches: list[SavedSearch]) -> list[Section]:
        """The subscriber's sections that have papers, in a fixed order: For you first."""
        wanted = [self.for_you(sub)]
        wanted += [self.trending()] if sub.trending else []
        wanted += [self.category(name) for name in sub.category_list]
        wanted += [self.search(s.query, s.category) for s in searches]
        return [section for section in wanted if section.papers]

    def for_you(self, sub: Subscription) -> Section:
        """The subscriber's own section (never cached: nobody else gets it)."""
        papers = tuple(DigestPaper.of(*found) for found in self._for_you.papers(sub))
        return Section(f"for_you:{sub.id}", "for_you", FOR_YOU_TITLE, papers)

    def trending(self) -> Section:
        return self._get("trending", "trending", "Trending", self._trending_papers)

    def category(self, name: str) -> Section:
        return self._get(
            f"category:{name}",
            "category",
            f"New in {name}",
            lambda: feed(self.session, self.period, category=name, limit=self.limit).papers,
        )

    def search(self, query: str, category: str) -> Section:
        title = f"Search: {query}" + (f" (in {category})" if category else "")
        return self._get(
            f"search:{category}:{query}",
            "search",
            title,
            lambda: search_section_papers(
                self.session, query, category, self.period, self.limit, self._shares
            ),
        )

    def _trending_papers(self) -> list[Paper]:
        """A daily digest ranks the trending window (the week up to its day); a weekly, its week."""
        window = self.period
        if self.period.kind == "day":
            window = Period("day", self.period.end - timedelta(days=WINDOW_DAYS - 1), window.end)
        return feed(self.session, window, sort="trending", limit=self.limit).papers

    def _get(
        self, key: str, kind: SectionKind, title: str, papers: Callable[[], list[Paper]]
    ) -> Section:
        if key not in self._cache:
            found = tuple(DigestPaper.of(p) for p in papers())
            self._cache[key] = Section(key, kind, title, found)
        return self._cache[key]


def searches_by_subscription(session: Session, ids: list[int]) -> dict[int, list[SavedSearch]]:
    """Every saved search of these subscriptions, in one query per 500 ids."""
    found: dict[int, list[SavedSearch]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.scalars(
            select(SavedSearch)
            .where(SavedSearch.subscription_id.in_(chunk))
            .order_by(SavedSearch.created_at, SavedSearch.id)
        )
        for row in rows:
            found.setdefault(row.subscription_id, []).append(row)
    return found
