"""Submit a paper ("daily pick") by arXiv id or URL: see services/submissions.py for its day;
curators feature a paper on today's page (services/curation.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import Response

from dailypapers.jobs import Jobs
from dailypapers.jobs.queue import enqueue
from dailypapers.jobs.tasks import RESOLVE_EVERY_MINUTES
from dailypapers.services.curation import feature
from dailypapers.services.errors import Invalid
from dailypapers.services.ratelimit import check
from dailypapers.services.submissions import submit
from dailypapers.web.auth import RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.responses import redirect, render
from dailypapers.web.votes import paper_id_or_404

router = APIRouter(include_in_schema=False, route_class=RequestRoute)


@router.get("/submit")
def submit_form(
    request: Request, user: RequireUser, id: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return render(request, "submit.html", {"value": id, "error": None})


def fetch_soon(background: BackgroundTasks, request: Request) -> None:
    """Queue the job that fetches a pending paper from arXiv, after the response (so after the
    submission's commit). When the queue is down this is one warning line in the log, and the
    periodic job fetches the paper within ``RESOLVE_EVERY_MINUTES`` instead."""
    background.add_task(_queue_fetch, request.app.state.jobs)


def _queue_fetch(jobs: Jobs) -> None:
    enqueue(
        jobs.resolve_submissions,
        "fetching a submitted paper",
        later=f"the periodic job fetches it within {RESOLVE_EVERY_MINUTES} minutes",
    )


@router.post("/submit")
def submit_paper(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    arxiv: Annotated[str, Form(max_length=300)],
    background: BackgroundTasks,
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
    if submission.status == "pending":
        fetch_soon(background, request)
    url = f"/papers/date/{submission.day.isoformat()}"
    return redirect(url, flash="pending", arg=submission.arxiv_id)


@router.post("/papers/{arxiv_id:path}/feature")
def feature_paper(session: SessionDep, user: RequireUser, arxiv_id: str) -> Response:
    """Feature a paper on today's page (the curated feed): curators and admins only (403)."""
    featured = feature(session, user, paper_id_or_404(arxiv_id))
    return redirect(
        f"/papers/date/{featured.day.isoformat()}?view=curated",
        flash="featured",
        arg=featured.arxiv_id,
    )
