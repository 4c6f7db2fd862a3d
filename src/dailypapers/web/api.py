"""The JSON API: HF-compatible paths and fields (see hf_schema), plus the paper as Markdown.

Each route declares its answers' models (``api_models``), so ``/openapi.json`` documents every
field and every 4xx body ``{"error": ...}``.

Writes (upvote, submit) take ``Authorization: Bearer TOKEN`` (``dailypapers users token EMAIL`` or
the settings page) or the browser's session cookie with the CSRF header.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, User
from dailypapers.services.card_extras import paper_extras
from dailypapers.services.comments import comment_counts
from dailypapers.services.feeds import feed as feed_of
from dailypapers.services.feeds import feed_filters
from dailypapers.services.for_you import for_you
from dailypapers.services.organizations import (
    organization_for_submission,
    paper_organizations,
    require_organization,
)
from dailypapers.services.papers import get_paper, search_facets, search_papers, similar_papers
from dailypapers.services.periods import Period
from dailypapers.services.ratelimit import check
from dailypapers.services.recommend import recent_window
from dailypapers.services.submissions import submit, submitters
from dailypapers.services.votes import unvote, vote
from dailypapers.sources.arxiv.ids import InvalidArxivId, is_arxiv_id, parse_arxiv_id
from dailypapers.web.api_models import ApiError, FeedEntry, HfPaper, PendingSubmission, VoteAnswer
from dailypapers.web.auth import ApiUser, api_user, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.hf_schema import feed_entry, paper_object, reason_json
from dailypapers.web.markdown import paper_markdown
from dailypapers.web.params import DailyFeedParam, MonthParam, OrganizationParam, WeekParam
from dailypapers.web.periods import requested_period
from dailypapers.web.search_request import IndexDep, SearchDep
from dailypapers.web.submit import fetch_soon

_REASONS = {
    400: "A parameter or the body is not valid.",
    401: "No valid API token (`Authorization: Bearer TOKEN`) or session.",
    403: "Signed in by cookie but the CSRF header is missing or stale.",
    404: "The paper is not in this instance.",
    429: "Too many requests; `Retry-After` says how many seconds to wait.",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route gives, all ``{"error": "..."}``."""
    return {
        code: {"model": ApiError, "description": _REASONS[code]}
        | ({"headers": _RETRY_AFTER} if code == 429 else {})
        for code in codes
    }


_PENDING: dict[int | str, dict[str, Any]] = {
    202: {"model": PendingSubmission, "description": "Queued: the paper is not here yet."}
}

# "4XX" also keeps FastAPI from documenting a 422 it never sends (validation errors are 400)
router = APIRouter(
    responses={"4XX": {"model": ApiError, "description": "Any client error, as one sentence."}},
    route_class=RequestRoute,
)
Limit = Annotated[int, Query(ge=1, le=100, description="Results per page, 1–100.")]
Page = Annotated[int, Query(ge=0, le=10_000, description="Page number, from 0.")]
Category = Annotated[str | None, Query(max_length=32, description="Only this arXiv category.")]
Listing = list[FeedEntry]


def json_bytes(data: Any) -> Response:
    """JSON written by orjson from the builders' dicts. For a 50-paper listing the builders take
    ~0.45 ms and orjson ~0.05 ms more; FastAPI validating and encoding the same list through
    ``response_model=list[FeedEntry]`` would add ~0.75 ms. So the route's ``response_model`` only
    documents it, and tests hold the builders' output to the models (test_api_contract.py)."""
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/api/daily_papers", tags=["papers"], response_model=Listing, responses=_errors(400))
def daily_papers(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[
        str | None, Query(max_length=10, description="Day, YYYY-MM-DD (default: newest).")
    ] = None,
    week: WeekParam = None,
    month: MonthParam = None,
    sort: Annotated[
        Literal["publishedAt", "trending", "upvotes", "for_you"],
        Query(description="`for_you`: ranked for the token's user, with `reason` (token needed)."),
    ] = "upvotes",
    p: Page = 0,
    limit: Limit = 50,
    category: Category = None,
    submitter: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Only the papers this user (display name, any case) submitted.",
        ),
    ] = None,
    organization: OrganizationParam = None,
    feed: DailyFeedParam = None,
) -> Response:
    """Papers announced on a day, in an ISO week or a month (HF's `list_daily_papers`); on a
    curated instance, like HF's, only the papers curators featured and users submitted."""
    org_id = require_organization(session, organization).id if organization else None
    user = api_user(request, session) if sort == "for_you" else None
    period = requested_period(session, date, week, month)
    if period is None:
        return json_bytes([])
    if user is not None:
        where = feed_filters(session, period, category)
        return json_bytes(_for_you_entries(request, session, user, where, limit, p * limit))
    assert sort != "for_you"
    page = feed_of(
        session,
        period,
        sort=sort,
        category=category,
        limit=limit,
        offset=p * limit,
        submitter=submitter,
        stars=settings.trending_stars,
        curated=(feed or settings.daily_feed) == "curated",
        organization_id=org_id,
    )
    return json_bytes(_entries(session, settings.public_url, page.papers, page.submitted_by))


def _entries(
    session: Session, site: str, papers: list[Paper], submitted_by: dict[int, str]
) -> list[dict[str, Any]]:
    counts = comment_counts(session, [paper.id for paper in papers]) if papers else {}
    extras = paper_extras(session, papers)
    orgs = paper_organizations(session, [paper.id for paper in papers])
    return [
        feed_entry(
            paper,
            num_comments=counts.get(paper.id, 0),
            submitted_by=submitted_by.get(paper.id),
            extras=extras,
            site=site,
            organization=orgs.get(paper.id),
        )
        for paper in papers
    ]


def _for_you_entries(
    request: Request, session: Session, user: User, where: list[Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    recent = request.app.state.runtime.recent_vectors
    ranked = for_you(session, user, where, limit=limit, offset=offset, recent=recent)
    site = request.app.state.settings.public_url
    entries = _entries(session, site, ranked.papers, {})
    for paper, entry in zip(ranked.papers, entries, strict=True):
        entry["reason"] = reason_json(ranked, paper)
    return entries


@router.get(
    "/api/recommendations",
    tags=["for you"],
    response_model=Listing,
    responses=_errors(400, 401, 403),
)
def recommendations(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    days: Annotated[int, Query(ge=1, le=31, description="Papers of the last N days.")] = 7,
    limit: Limit = 50,
    p: Page = 0,
    category: Category = None,
) -> Response:
    """The newest papers ranked for the token's user ("For you"), each with its `reason`: the
    user's own papers nearest to it. With fewer than 3 positive signals (upvotes, saved or
    imported papers, "more like this"), the user's categories first, then by upvotes."""
    window = recent_window(session, days)
    if window is None:
        return json_bytes([])
    where = feed_filters(session, Period("day", *window), category)
    return json_bytes(_for_you_entries(request, session, user, where, limit, p * limit))


_SEARCH_HEADERS: dict[str, Any] = {
    "X-Search-Mode": {
        "description": "`hybrid` (words and meaning) or `keyword` (words only: the model is "
        "loading, unavailable, or nothing is embedded yet).",
        "schema": {"type": "string", "enum": ["hybrid", "keyword"]},
    },
    "X-Search-Suggestion": {
        "description": "The query with its spelling corrected from the papers' own words, when "
        "a word looks misspelt (`transfomer` → `transformer`).",
        "schema": {"type": "string"},
    },
    "X-Search-Corrected": {
        "description": "`1` when nothing matched the query and the results are the suggestion's.",
        "schema": {"type": "string"},
    },
}


@router.get(
    "/api/papers/search",
    tags=["papers"],
    response_model=Listing,
    responses={200: {"headers": _SEARCH_HEADERS}, **_errors(400)},
)
def search(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    ask: SearchDep,
    limit: Limit = 50,
    p: Page = 0,
    facets: Annotated[
        bool,
        Query(
            description="With `1`, the answer is an object (`FacetedSearch`): the entries under "
            "`papers` and counts of all results by category and by year under `facets`. "
            "Without it the answer stays a plain list (HF's shape)."
        ),
    ] = False,
) -> Response:
    """Search by words and meaning (HF's `list_papers`): BM25 and nearest neighbours fused (a
    paper found only by meaning must be close enough to the query: nonsense finds nothing);
    filter by category and announce dates, sort by relevance, date or upvotes. An arXiv id or
    URL finds that paper; an empty query lists the newest day. `X-Search-Mode` says whether
    meaning was searched."""
    if not ask.q.strip():
        listing = daily_papers(
            request, session, settings, limit=limit, p=p, category=ask.filters.category
        )
        if not facets:
            return listing
        empty: dict[str, list[Any]] = {"categories": [], "years": []}
        return json_bytes({"papers": orjson.loads(listing.body), "facets": empty})
    results = search_papers(
        session,
        ask.q,
        ask.filters,
        semantic=ask.semantic,
        shares=ask.shares,
        spelling=ask.spelling,
        limit=limit,
        offset=p * limit,
        marks=False,
    )
    papers = [hit.paper for hit in results.hits]
    entries = _entries(session, settings.public_url, papers, {})
    if facets:
        counts = search_facets(session, results)
        answer = json_bytes(
            {
                "papers": entries,
                "facets": {
                    "categories": [{"name": c, "count": n} for c, n in counts.categories],
                    "years": [{"year": y, "count": n} for y, n in counts.years],
                },
            }
        )
    else:
        answer = json_bytes(entries)
    answer.headers["X-Search-Mode"] = results.mode
    if results.suggestion:  # ASCII only (see search/spelling.py)
        answer.headers["X-Search-Suggestion"] = results.suggestion
        if results.corrected:
            answer.headers["X-Search-Corrected"] = "1"
    return answer


@router.get(
    "/api/papers/{arxiv_id:path}/similar",
    tags=["papers"],
    response_model=Listing,
    responses=_errors(400, 404),
)
def similar(
    session: SessionDep,
    settings: SettingsDep,
    index: IndexDep,
    arxiv_id: str,
    limit: Annotated[int, Query(ge=1, le=50, description="How many, 1–50.")] = 10,
) -> Response:
    """Papers similar to this one: nearest neighbours of its vector, or BM25 on its title while
    it has none. Entries are shaped like search results."""
    paper = _known_paper(session, arxiv_id)
    papers = similar_papers(session, paper, index, limit=limit)
    return json_bytes(_entries(session, settings.public_url, papers, {}))


@router.get(
    "/api/papers/{arxiv_id:path}",
    tags=["papers"],
    response_model=HfPaper,
    response_model_exclude_unset=True,  # a paper nobody submitted has no submittedOnDailyBy key
    responses=_errors(400, 404),
)
def paper_info(session: SessionDep, settings: SettingsDep, arxiv_id: str) -> dict[str, Any]:
    """One paper by arXiv id (HF's `paper_info`)."""
    return _paper_json(session, settings.public_url, _known_paper(session, arxiv_id))


def _known_paper(session: Session, arxiv_id: str) -> Paper:
    if not is_arxiv_id(arxiv_id):
        raise HTTPProblem(400, f"not an arXiv id: {arxiv_id[:80]!r}")
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id} is not in this instance")
    return paper


def _paper_json(session: Session, site: str, paper: Paper) -> dict[str, Any]:
    count = comment_counts(session, [paper.id]).get(paper.id, 0)
    by = submitters(session, [paper.id], date.min, date.max).get(paper.id)
    extras = paper_extras(session, [paper])
    org = paper_organizations(session, [paper.id]).get(paper.id)
    return paper_object(
        paper, num_comments=count, submitted_by=by, extras=extras, site=site, organization=org
    )


class IndexRequest(BaseModel):
    """Body of ``POST /api/papers/index`` (HF's field name)."""

    model_config = ConfigDict(populate_by_name=True)
    arxiv_id: str = Field(alias="arxivId", min_length=1, max_length=300)
    organization_id: str | None = Field(
        default=None,
        alias="organizationId",
        max_length=40,
        description="Submit on behalf of this organization (its slug); members only, else 403.",
    )


@router.post(
    "/api/papers/index",
    tags=["community"],
    response_model=HfPaper,
    response_model_exclude_unset=True,
    responses=_PENDING | _errors(400, 401, 403, 429),
)
def index_paper(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: ApiUser,
    body: IndexRequest,
    background: BackgroundTasks,
) -> dict[str, Any] | JSONResponse:
    """Submit a paper: one this instance has is marked as a pick on its own announce day, a new
    one joins today's feed; 202 with ``status: pending`` while it is fetched from arXiv."""
    check(session, "submit_user", str(user.id))
    check(session, "write_ip", client_ip(request))
    org_id = organization_for_submission(session, user, body.organization_id)
    submission = submit(session, user, body.arxiv_id, organization_id=org_id)
    paper = get_paper(session, submission.arxiv_id) if submission.status == "ready" else None
    if paper is None:
        if submission.status == "pending":
            fetch_soon(background, request)
        pending = {"arxivId": submission.arxiv_id, "status": submission.status}
        return JSONResponse(pending, status_code=202)
    return _paper_json(session, settings.public_url, paper)


def _canonical_id(arxiv_id: str) -> str:
    try:
        return parse_arxiv_id(arxiv_id)[0]
    except InvalidArxivId:
        raise HTTPProblem(400, f"not an arXiv id: {arxiv_id[:80]!r}") from None


def _count_vote(session: Session, request: Request, user: User) -> None:
    check(session, "vote_user", str(user.id))
    check(session, "write_ip", client_ip(request))


@router.post(
    "/api/papers/{arxiv_id:path}/upvote",
    tags=["community"],
    response_model=VoteAnswer,
    responses=_errors(400, 401, 403, 404, 429),
)
def upvote(request: Request, session: SessionDep, user: ApiUser, arxiv_id: str) -> dict[str, Any]:
    """Upvote a paper (idempotent); returns the new count."""
    paper_id = _canonical_id(arxiv_id)
    _count_vote(session, request, user)
    count = vote(session, user, paper_id)
    return {"id": paper_id, "upvotes": count, "upvoted": True}


@router.delete(
    "/api/papers/{arxiv_id:path}/upvote",
    tags=["community"],
    response_model=VoteAnswer,
    responses=_errors(400, 401, 403, 404, 429),
)
def remove_upvote(
    request: Request, session: SessionDep, user: ApiUser, arxiv_id: str
) -> dict[str, Any]:
    """Take back an upvote (idempotent); returns the new count."""
    paper_id = _canonical_id(arxiv_id)
    _count_vote(session, request, user)
    count = unvote(session, user, paper_id)
    return {"id": paper_id, "upvotes": count, "upvoted": False}


def markdown_response(session: SessionDep, arxiv_id: str) -> PlainTextResponse:
    """The paper as Markdown (HF's `read_paper`); routed from the HTML paper path."""
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id} is not in this instance")
    return PlainTextResponse(paper_markdown(paper), media_type="text/markdown; charset=utf-8")
