"""HTML pages: the feeds (daily, weekly, monthly, trending), a paper, search. Thin routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import User
from dailypapers.services.card_extras import CardExtras, card_extras, paper_extras
from dailypapers.services.collections import user_collections
from dailypapers.services.comments import comments_for
from dailypapers.services.feeds import (
    categories_in,
    feed,
    feed_filters,
    neighbour_periods,
    trending_period,
)
from dailypapers.services.for_you import for_you as for_you_list
from dailypapers.services.papers import (
    get_paper,
    search_facets,
    search_papers,
    similar_papers,
)
from dailypapers.services.periods import (
    BadPeriod,
    Period,
    day_period,
    parse_day,
    parse_month,
    parse_week,
)
from dailypapers.services.recommend import FOR_YOU_DAYS, recent_window, starter_papers
from dailypapers.services.signals import feedback_for
from dailypapers.services.submissions import submitters
from dailypapers.services.votes import voted_ids
from dailypapers.sources.arxiv.ids import is_arxiv_id
from dailypapers.sources.arxiv.withdrawn import is_withdrawn
from dailypapers.web.api import markdown_response
from dailypapers.web.auth import CurrentUser, RequireUser
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.periods import requested_period
from dailypapers.web.responses import render
from dailypapers.web.search_request import IndexDep, SearchDep, word_shares

router = APIRouter(include_in_schema=False, route_class=RequestRoute)
Category = Annotated[str | None, Query(max_length=32)]
PageNumber = Annotated[int, Query(ge=0, le=10_000)]


def _period_url(period: Period) -> str:
    return f"/papers/{'date' if period.kind == 'day' else period.kind}/{period.label}"


def _query(**params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", 0)}
    return ("?" + urlencode(kept)) if kept else ""


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """What every feed page reads from a request: who asks, which category, which page."""

    request: Request
    session: Session
    settings: Settings
    user: User | None
    category: str | None
    p: int
    sort: str | None = None  # "for_you": the period's papers ranked for the signed-in user
    view: str | None = None  # a day's page: "curated" or "all" (default: DAILYPAPERS_DAILY_FEED)


async def feed_request(  # async: no I/O here, so no thread hop
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    category: Category = None,
    p: PageNumber = 0,
    sort: Annotated[Literal["for_you"] | None, Query()] = None,
    view: Annotated[Literal["curated", "all"] | None, Query()] = None,
) -> FeedRequest:
    return FeedRequest(request, session, settings, user, category, p, sort, view)


FeedDep = Annotated[FeedRequest, Depends(feed_request)]


def _feed_page(ask: FeedRequest, period: Period | None, *, tab: str) -> Response:
    session, category, p = ask.session, ask.category, ask.p
    context: dict[str, Any] = {"tab": tab, "category": category, "period": period, "p": p}
    context["sort"] = ask.sort if ask.user is not None else None
    if period is None:
        context.update(papers=[], total=0, empty_db=True, extras=CardExtras())
        return render(ask.request, "feed.html", context)
    sort: Literal["upvotes", "trending"] = "trending" if tab == "trending" else "upvotes"
    size = ask.settings.page_size
    context["base_url"] = _base_url(tab, period)
    # a day's page: curated (like HF's) or every new paper; the switch when the instance curates
    curated = tab == "daily" and (ask.view or ask.settings.daily_feed) == "curated"
    context["feed_switch"] = tab == "daily" and ask.settings.daily_feed == "curated"
    context["view"] = ask.view if tab == "daily" else None  # kept in the page's links
    context["curated"] = curated and context["sort"] != "for_you"
    submitted = None
    if ask.user is not None and (tab == "for_you" or ask.sort == "for_you"):
        _for_you(ask, period, context)
    else:
        page = feed(
            session,
            period,
            sort=sort,
            category=category,
            limit=size,
            offset=p * size,
            stars=ask.settings.trending_stars,
            curated=curated,
        )
        context.update(papers=page.papers, total=page.total, pages=-(-page.total // size))
        context["extras"] = card_extras(session, ask.user, page.papers, page.submitted_by)
        submitted = page.submitted
    context["chips"] = categories_in(
        session, period, submitted=submitted, curated=context["curated"]
    )
    if tab not in ("trending", "for_you"):  # the nearest periods with papers, never an empty one
        earlier, later = neighbour_periods(session, period)
        context["prev_url"] = _period_url(earlier) if earlier and earlier.in_range else None
        context["next_url"] = _period_url(later) if later and later.in_range else None
    context["query"] = _query
    return render(ask.request, "feed.html", context)


def _base_url(tab: str, period: Period) -> str:
    return {"trending": "/papers/trending", "for_you": "/papers/for-you"}.get(
        tab, _period_url(period)
    )


def _for_you(ask: FeedRequest, period: Period, context: dict[str, Any]) -> None:
    """The period's papers ranked for the signed-in user, with why, and what state the model is
    in (cold start, being retrained) for the page to say."""
    assert ask.user is not None
    size = ask.settings.page_size
    where = feed_filters(ask.session, period, ask.category)
    recent = ask.request.app.state.runtime.recent_vectors
    ranked = for_you_list(
        ask.session, ask.user, where, limit=size, offset=ask.p * size, recent=recent
    )
    context.update(papers=ranked.papers, total=ranked.total, pages=-(-ranked.total // size))
    context.update(for_you=ranked, sort="for_you")
    extras = card_extras(ask.session, ask.user, ranked.papers)
    context["extras"] = replace(extras, reasons=ranked.reasons, followed=ranked.followed)
    if ranked.state != "ready":
        context["starters"] = starter_papers(ask.session, ask.user, where)


def _parse(parser: Callable[[str], date | Period], value: str) -> Period:
    try:
        result = parser(value)
    except BadPeriod as exc:
        raise HTTPProblem(400, str(exc)) from None
    return result if isinstance(result, Period) else day_period(result)


@router.get("/")
def home(ask: FeedDep) -> Response:
    return _feed_page(ask, requested_period(ask.session, None, None, None), tab="daily")


@router.get("/papers/date/{day}")
def daily(ask: FeedDep, day: str) -> Response:
    return _feed_page(ask, _parse(parse_day, day), tab="daily")


@router.get("/papers/week/{week}")
def weekly(ask: FeedDep, week: str) -> Response:
    return _feed_page(ask, _parse(parse_week, week), tab="weekly")


@router.get("/papers/month/{month}")
def monthly(ask: FeedDep, month: str) -> Response:
    return _feed_page(ask, _parse(parse_month, month), tab="monthly")


@router.get("/papers/trending")
def trending(ask: FeedDep) -> Response:
    return _feed_page(ask, trending_period(ask.session), tab="trending")


@router.get("/papers/for-you")
def for_you(ask: FeedDep, user: RequireUser) -> Response:
    """The last 7 days ranked for the signed-in user (the For you tab)."""
    window = recent_window(ask.session, FOR_YOU_DAYS)
    period = Period("day", *window) if window else None
    return _feed_page(ask, period, tab="for_you")


@router.get("/papers/{arxiv_id:path}")
def paper_page(
    request: Request, session: SessionDep, user: CurrentUser, index: IndexDep, arxiv_id: str
) -> Response:
    if arxiv_id.endswith(".md"):
        return markdown_response(session, arxiv_id.removesuffix(".md"))
    if not is_arxiv_id(arxiv_id):
        raise HTTPProblem(404, f"{arxiv_id[:80]!r} is not an arXiv id")
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPProblem(
            404,
            f"paper {arxiv_id} is not in this instance",
            links=[(f"https://arxiv.org/abs/{arxiv_id}", "Look it up on arXiv")],
        )
    more = paper_extras(session, [paper])
    context = {
        "paper": paper,
        "tab": None,
        "thumbnail": more.thumbnails.get(paper.id),
        "summary": more.summaries.get(paper.id),
        "stars": more.stars.get(paper.id),
        "withdrawn": is_withdrawn(paper.comment),
        "voted": bool(voted_ids(session, user, [paper.id])) if user else False,
        "feedback": feedback_for(session, user, [paper.id]).get(paper.id),
        "submitter": submitters(session, [paper.id], date.min, date.max).get(paper.id),
        "comments": comments_for(session, paper.id, user),
        "collections": user_collections(session, user) if user else [],
        "similar": similar_papers(session, paper, index, shares=word_shares(request)),
    }
    return render(request, "paper.html", context)


# Said on the search page whenever meaning is not (fully) searched; the API's X-Search-Mode.
SEMANTIC_NOTES = {
    "loading": "Search by meaning is starting up; these results match your words.",
    "unavailable": "Search by meaning is unavailable; these results match your words.",
    "no-vectors": "Search by meaning is off until papers are embedded; these results match your "
    "words.",
    "partial": "Papers are still being embedded: search by meaning covers only some of them, "
    "the others are found by their words.",
}


@router.get("/search")
def search_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    ask: SearchDep,
    p: PageNumber = 0,
) -> Response:
    if not ask.q.strip():
        return RedirectResponse("/" + _query(category=ask.filters.category), status_code=303)
    size = settings.page_size
    results = search_papers(
        session,
        ask.q,
        ask.filters,
        semantic=ask.semantic,
        shares=ask.shares,
        spelling=ask.spelling,
        limit=size,
        offset=p * size,
    )
    if results.exact_id:
        return RedirectResponse(f"/papers/{results.hits[0].paper.arxiv_id}", status_code=303)
    context = {
        "q": ask.q,
        "filters": ask.filters,
        "params": ask.url_params(),
        "p": p,
        "hits": results.hits,
        "extras": card_extras(session, user, [hit.paper for hit in results.hits]),
        "total": results.total,
        "more": results.more,
        "pages": -(-results.total // size),
        "semantic_note": SEMANTIC_NOTES.get(ask.semantic_status),
        "mode": results.mode,
        "author": results.author,
        "suggestion": results.suggestion,
        "corrected": results.corrected,
        "facets": search_facets(session, results),
        "tab": None,
        "query": _query,
    }
    return render(request, "search.html", context)
