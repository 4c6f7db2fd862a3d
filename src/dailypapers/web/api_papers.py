"""``GET /api/papers``: every paper, newest first, a page at a time with an opaque cursor.

The answer is a list of paper objects (as ``/api/papers/{id}``) and, when there is more, a
``Link: <...>; rel="next"`` header with the next page's URL, the pagination Hugging Face's API and
``huggingface_hub``'s ``paginate`` use. The cursor names the last paper of the page (keyset
pagination), so a page is never shifted by papers that arrive meanwhile and costs the same deep
in the list as at its start.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dailypapers.services.card_extras import paper_extras
from dailypapers.services.comments import comment_counts
from dailypapers.services.papers import papers_after
from dailypapers.sources.arxiv.ids import is_arxiv_id
from dailypapers.web.api import Category, Limit, _errors, json_bytes
from dailypapers.web.api_models import ApiError, HfPaper
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.hf_schema import paper_object

router = APIRouter(
    responses={"4XX": {"model": ApiError, "description": "Any client error, as one sentence."}},
    route_class=RequestRoute,
)
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="From the `Link` header of the previous page."),
]


def encode_cursor(day: date, arxiv_id: str) -> str:
    raw = f"{day.isoformat()}|{arxiv_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        day, arxiv_id = raw.split("|", 1)
        parsed = date.fromisoformat(day)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HTTPProblem(400, "not a cursor this API gave out") from None
    if not is_arxiv_id(arxiv_id) or not 1900 <= parsed.year <= 2999:
        raise HTTPProblem(400, "not a cursor this API gave out")
    return parsed, arxiv_id


@router.get(
    "/api/papers",
    tags=["papers"],
    response_model=list[HfPaper],
    responses=_errors(400)
    | {200: {"headers": {"Link": {"description": 'The next page: `<URL>; rel="next"`.'}}}},
)
def list_papers(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    category: Category = None,
) -> Response:
    """Every paper, newest first (announce day, then arXiv id), `limit` at a time; follow the
    `Link: <...>; rel="next"` header for the next page (none on the last)."""
    after = decode_cursor(cursor) if cursor else None
    papers = papers_after(session, after, limit + 1, category)
    more, papers = len(papers) > limit, papers[:limit]
    counts = comment_counts(session, [p.id for p in papers]) if papers else {}
    extras = paper_extras(session, papers)
    site = settings.public_url
    body: list[dict[str, Any]] = [
        paper_object(p, num_comments=counts.get(p.id, 0), extras=extras, site=site) for p in papers
    ]
    response = json_bytes(body)
    if more:
        last = papers[-1]
        params = {"limit": limit, "cursor": encode_cursor(last.announced_on, last.arxiv_id)}
        if category:
            params["category"] = category
        response.headers["Link"] = f'<{site}/api/papers?{urlencode(params)}>; rel="next"'
    return response
