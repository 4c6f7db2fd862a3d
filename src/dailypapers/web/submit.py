"""Submit a paper ("daily pick") by arXiv id or URL: see services/submissions.py for its day."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from dailypapers.services.errors import Invalid
from dailypapers.services.ratelimit import check
from dailypapers.services.submissions import submit
from dailypapers.web.auth import RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.responses import redirect, render

router = APIRouter(include_in_schema=False, route_class=RequestRoute)


@router.get("/submit")
def submit_form(
    request: Request, user: RequireUser, id: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return render(request, "submit.html", {"value": id, "error": None})


@router.post("/submit")
def submit_paper(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    arxiv: Annotated[str, Form(max_length=300)],
) -> Response:
    check(session, "submit_user", str(user.id))
    check(session, "write_ip", client_ip(request))
    try:
        submission = submit(session, user, arxiv)
    except Invalid as exc:  # answered, not raised: the request commits, so the attempt counts
        context = {"value": arxiv, "error": exc.message}
        return render(request, "submit.html", context, status=400)
    if submission.status == "ready":  # a paper we have: its page, which names the submitter
        return redirect(
            f"/papers/{submission.arxiv_id}", flash="submitted", arg=submission.arxiv_id
        )
    url = f"/papers/date/{submission.day.isoformat()}"
    return redirect(url, flash="pending", arg=submission.arxiv_id)
