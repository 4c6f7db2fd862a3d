"""Claimed authors: "I am an author" on a paper page (``POST /papers/{id}/claim``), the admins'
queue (``/admin/claims``) and a user's profile (``/users/{id}``: their claimed papers and the
upvotes those received). See services/claims.py for the rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from dailypapers.services.card_extras import card_extras
from dailypapers.services.claims import claim_author, decide, pending_claims, profile
from dailypapers.services.papers import get_paper
from dailypapers.services.ratelimit import check
from dailypapers.web.auth import CurrentUser, RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.responses import redirect, render
from dailypapers.web.votes import paper_id_or_404

router = APIRouter(route_class=RequestRoute, include_in_schema=False)


@router.post("/papers/{arxiv_id:path}/claim")
def claim(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    arxiv_id: str,
    position: Annotated[int, Form(ge=0, le=10_000)],
) -> Response:
    """Claim the author at ``position`` (0: first); an admin approves it. 409 when taken."""
    paper = get_paper(session, paper_id_or_404(arxiv_id))
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id[:80]} is not in this instance")
    check(session, "write_ip", client_ip(request))
    claim_author(session, user, paper, position)  # Invalid 400, Conflict 409
    return redirect(f"/papers/{paper.arxiv_id}", flash="claimed", arg=paper.arxiv_id)


@router.get("/admin/claims")
def claims_queue(request: Request, session: SessionDep, user: RequireUser) -> Response:
    _admin(user.is_admin)
    return render(request, "claims.html", {"claims": pending_claims(session)})


@router.post("/admin/claims/{claim_id:int}")
def decide_claim(
    session: SessionDep,
    user: RequireUser,
    claim_id: int,
    decision: Annotated[str, Form(max_length=10)],
) -> Response:
    _admin(user.is_admin)
    _row_id(claim_id, "claim")
    if decision not in ("approve", "reject"):
        raise HTTPProblem(400, "decision is approve or reject")
    decide(session, claim_id, approve=decision == "approve")
    return redirect("/admin/claims", flash="claim-decided")


@router.get("/users/{user_id:int}")
def user_profile(
    request: Request, session: SessionDep, user: CurrentUser, user_id: int
) -> Response:
    found = profile(session, _row_id(user_id, "user"))  # NotFound: 404
    context = {
        "profile": found,
        "papers": found.papers,
        "extras": card_extras(session, user, found.papers),
        "tab": None,
    }
    return render(request, "profile.html", context)


def _row_id(value: int, what: str) -> int:
    """An id from the path within the database's integers (a huge one is a 404, not a 500)."""
    if not 0 < value < 2**31:
        raise HTTPProblem(404, f"no {what} {str(value)[:20]}")
    return value


def _admin(is_admin: bool) -> None:
    if not is_admin:
        raise HTTPProblem(403, "only admins decide authors' claims")
