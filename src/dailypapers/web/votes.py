"""The upvote button: htmx swaps in the new button; without JavaScript the form POST redirects back."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dailypapers.services.ratelimit import check
from dailypapers.services.votes import toggle
from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id
from dailypapers.web.auth import RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.responses import back_url, is_htmx, redirect, render

router = APIRouter(include_in_schema=False, route_class=RequestRoute)


def paper_id_or_404(text: str) -> str:
    """The arXiv id (without version) named in a URL path, or a 404 page."""
    try:
        return parse_arxiv_id(text)[0]
    except InvalidArxivId:
        raise HTTPProblem(404, f"{text[:80]!r} is not an arXiv id") from None


@router.post("/papers/{arxiv_id:path}/upvote")
def toggle_upvote(
    request: Request, session: SessionDep, user: RequireUser, arxiv_id: str
) -> Response:
    paper_id = paper_id_or_404(arxiv_id)
    check(session, "vote_user", str(user.id))
    check(session, "write_ip", client_ip(request))
    voted, count = toggle(session, user, paper_id)
    if is_htmx(request):
        context = {"arxiv_id": paper_id, "count": count, "voted": voted}
        return render(request, "_vote.html", context)
    page = f"/papers/{paper_id}"
    back = back_url(request, page)
    return redirect(back if back == page else f"{back}#paper-{paper_id}")
