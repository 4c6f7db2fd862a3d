"""The map of the papers: ``/map`` (the page: a canvas and a small script, static/map.js) and its
data, ``/map/points.json`` (positions, categories, cluster labels: what the first paint needs),
``/map/titles.json`` (ids and titles, for hover, search and clicks), ``/map/search.json`` (the
period's best hits by words and meaning) and ``/map/mine.json`` (the
signed-in reader's upvotes; "picks" is where For-you picks will go). Columnar JSON: a 50,000-paper
period stays under 2 MB compressed (benchmarks/map_speed.py). Points and titles are compressed
once per encoding and kept with the cached data (:func:`_packed`): gzipping the 0.6 MB of points
on every answer held the first paint back by a quarter of a second on a busy machine.

The period: ``date``, ``week`` or ``month`` as on the feeds, the newest month by default;
``category`` keeps one arXiv category.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dailypapers.search.fts import SearchFilters
from dailypapers.services.feeds import latest_day
from dailypapers.services.map_data import MapData, map_data, upvoted_indices
from dailypapers.services.papers import search_papers
from dailypapers.services.periods import Period, month_period
from dailypapers.web.api import json_bytes
from dailypapers.web.auth import CurrentUser
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.params import MonthParam, WeekParam
from dailypapers.web.periods import requested_period
from dailypapers.web.responses import render
from dailypapers.web.search_request import SearchDep
from dailypapers.web.transport import MIN_SIZE, accepted, compress, vary_on_encoding

router = APIRouter(include_in_schema=False, route_class=RequestRoute)
SEARCH_HITS = 200
Day = Annotated[str | None, Query(max_length=10)]
Category = Annotated[str | None, Query(max_length=32)]


def _period(
    session: Session, date: str | None, week: str | None, month: str | None
) -> Period | None:
    if date or week or month:
        return requested_period(session, date, week, month)
    newest = latest_day(session)
    return month_period(newest) if newest else None


def _data(
    session: Session, date: str | None, week: str | None, month: str | None, category: str | None
) -> tuple[Period | None, MapData | None]:
    period = _period(session, date, week, month)
    if period is None:
        return None, None
    return period, map_data(session, period, category or None)


@router.get("/map")
def map_page(
    request: Request,
    session: SessionDep,
    date: Day = None,
    week: WeekParam = None,
    month: MonthParam = None,
    category: Category = None,
) -> Response:
    period = _period(session, date, week, month)
    query = str(request.url.query)
    context: dict[str, Any] = {
        "tab": "map",
        "period": period,
        "category": category,
        "data_query": query,
    }
    if period is not None:
        earlier, later = period.shifted(-1), period.shifted(1)
        context["prev_url"] = (
            f"/map?{period.kind if period.kind != 'day' else 'date'}={earlier.label}"
            if earlier.in_range
            else None
        )
        context["next_url"] = (
            f"/map?{period.kind if period.kind != 'day' else 'date'}={later.label}"
            if later.in_range
            else None
        )
    return render(request, "map.html", context)


@router.get("/map/points.json")
def map_points(
    request: Request,
    session: SessionDep,
    date: Day = None,
    week: WeekParam = None,
    month: MonthParam = None,
    category: Category = None,
) -> Response:
    period, data = _data(session, date, week, month, category)
    if period is None or data is None:
        return json_bytes({"count": 0, "x": [], "y": [], "cat": [], "cats": [], "clusters": []})
    return _packed(request, data, "points", lambda: _points_json(period, data))


def _points_json(period: Period, data: MapData) -> bytes:
    return orjson.dumps(
        {
            "period": period.label,
            "count": len(data.x),
            "truncated": data.truncated,
            "grid": 4095,
            "x": data.x,
            "y": data.y,
            "cat": data.category,
            "cats": data.categories,
            "clusters": [
                {"x": c.x, "y": c.y, "label": c.label, "size": c.size} for c in data.clusters
            ],
        }
    )


@router.get("/map/titles.json")
def map_titles(
    request: Request,
    session: SessionDep,
    date: Day = None,
    week: WeekParam = None,
    month: MonthParam = None,
    category: Category = None,
) -> Response:
    _period_, data = _data(session, date, week, month, category)
    if data is None:
        return json_bytes({"ids": [], "titles": []})
    return _packed(
        request,
        data,
        "titles",
        lambda: orjson.dumps({"ids": data.arxiv_ids, "titles": data.titles}),
    )


def _packed(request: Request, data: MapData, name: str, encode: Callable[[], bytes]) -> Response:
    """``data``'s ``name`` answer as JSON in the best encoding the client takes, each encoded
    and compressed once and kept with the cached data (the answer's Content-Encoding tells the
    compression middleware to pass it untouched)."""
    if name not in data.encoded:  # 50,000 points: ~10 ms to encode
        data.encoded[name] = encode()
    body, encoding = data.encoded[name], None
    choices = accepted(request.headers.get("accept-encoding", ""))
    if choices and len(body) >= MIN_SIZE:
        encoding = choices[0]
        key = f"{name}.{encoding}"
        if key not in data.encoded:
            data.encoded[key] = compress(body, encoding)
        body = data.encoded[key]
    answer = Response(body, media_type="application/json")
    if encoding is not None:
        answer.headers["Content-Encoding"] = encoding
    vary_on_encoding(answer.headers)
    return answer


@router.get("/map/search.json")
def map_search(
    session: SessionDep,
    ask: SearchDep,
    date: Day = None,
    week: WeekParam = None,
    month: MonthParam = None,
) -> Response:
    """Indices (into the points) of the period's best search hits, by words and meaning: the
    map's search box asks here on Enter (typing highlights matching titles at once)."""
    category = ask.filters.category
    period, data = _data(session, date, week, month, category)
    if period is None or data is None or not ask.q.strip():
        return json_bytes({"hits": [], "mode": "keyword"})
    filters = SearchFilters(category=category, since=period.start, until=period.end)
    results = search_papers(
        session,
        ask.q,
        filters,
        semantic=ask.semantic,
        shares=ask.shares,
        limit=SEARCH_HITS,
        marks=False,
    )
    where = {paper_id: n for n, paper_id in enumerate(data.paper_ids)}
    hits = [where[h.paper.id] for h in results.hits if h.paper.id in where]
    return json_bytes({"hits": hits, "mode": results.mode})


@router.get("/map/mine.json")
def map_mine(
    session: SessionDep,
    user: CurrentUser,
    date: Day = None,
    week: WeekParam = None,
    month: MonthParam = None,
    category: Category = None,
) -> Response:
    """Indices (into the points) of the reader's upvoted papers; ``picks``: a hook for For-you."""
    period = _period(session, date, week, month)  # a bad period is a 400 for anyone
    if user is None or period is None:
        return json_bytes({"upvoted": [], "picks": []})
    data = map_data(session, period, category or None)
    if data is None:
        return json_bytes({"upvoted": [], "picks": []})
    return json_bytes({"upvoted": upvoted_indices(session, user, data), "picks": []})
