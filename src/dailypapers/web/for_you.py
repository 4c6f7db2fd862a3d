"""The "For you" controls: "more like this" / "not interested" on cards and paper pages (htmx swaps
the two buttons; without JavaScript the form POST redirects back), and ``/settings/signals``, where
a user sees and removes every signal their recommendations learn from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from dailypapers.services.errors import Invalid
from dailypapers.services.follows import followed_authors
from dailypapers.services.library import (
    MISSING,
    PENDING,
    UNMATCHED,
    clear_library,
    import_library,
    library_counts,
    library_entries,
)
from dailypapers.services.ratelimit import check
from dailypapers.services.signals import list_signals, remove_signal, set_feedback
from dailypapers.web.auth import RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.responses import back_url, is_htmx, redirect, render
from dailypapers.web.security import BODY_LIMITS, MB
from dailypapers.web.votes import paper_id_or_404

router = APIRouter(include_in_schema=False, route_class=RequestRoute)
Kind = Annotated[str, Query(pattern="^(more|less|clear)$")]


@router.post("/papers/{arxiv_id:path}/feedback")
def feedback(
    request: Request, session: SessionDep, user: RequireUser, arxiv_id: str, kind: Kind
) -> Response:
    paper_id = paper_id_or_404(arxiv_id)
    check(session, "vote_user", str(user.id))
    check(session, "write_ip", client_ip(request))
    now = set_feedback(session, user, paper_id, kind)
    if is_htmx(request):
        return render(request, "_feedback.html", {"arxiv_id": paper_id, "kind": now})
    page = f"/papers/{paper_id}"
    back = back_url(request, page)
    return redirect(back if back == page else f"{back}#paper-{paper_id}")


@router.get("/settings/signals")
def signals_page(request: Request, session: SessionDep, user: RequireUser) -> Response:
    rows = list_signals(session, user)
    follows = followed_authors(session, user)
    return render(request, "signals.html", {"signals": rows, "follows": follows, "tab": None})


@router.post("/settings/signals/remove")
def remove(
    session: SessionDep,
    user: RequireUser,
    kind: Annotated[str, Form(max_length=16)],
    arxiv_id: Annotated[str, Form(max_length=64)],
) -> Response:
    remove_signal(session, user, kind, paper_id_or_404(arxiv_id))
    return redirect("/settings/signals", flash="signal-removed")


def _library_page(
    request: Request, session: SessionDep, user: RequireUser, **extra: object
) -> Response:
    context = {
        "counts": library_counts(session, user),
        "entries": library_entries(session, user, (PENDING, UNMATCHED, MISSING)),
        "limit_mb": BODY_LIMITS["/settings/library"] // MB,
        "tab": None,
        **extra,
    }
    status = 400 if extra.get("error") else 200
    return render(request, "library.html", context, status=status)


@router.get("/settings/library")
def library_page(request: Request, session: SessionDep, user: RequireUser) -> Response:
    return _library_page(request, session, user)


@router.post("/settings/library")
def library_upload(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    file: Annotated[UploadFile | None, File()] = None,
    ids: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Import a BibTeX / CSL-JSON file or pasted ids; the report, or the form with why not (400)."""
    data, name = (file.file.read(), file.filename or "") if file is not None else (b"", "")
    if not data.strip():
        data, name = ids.encode("utf-8"), "ids.txt"
    if not data.strip():
        return _library_page(request, session, user, error="Choose a file or paste arXiv ids.")
    check(session, "write_ip", client_ip(request))
    try:
        report = import_library(session, user, data, name)
    except Invalid as exc:
        return _library_page(request, session, user, error=str(exc))
    return _library_page(request, session, user, report=report)


@router.post("/settings/library/clear")
def library_clear(session: SessionDep, user: RequireUser) -> Response:
    clear_library(session, user)
    return redirect("/settings/library", flash="library-cleared")
