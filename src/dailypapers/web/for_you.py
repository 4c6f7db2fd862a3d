"""The "For you" controls: "more like this" / "not interested" on cards and paper pages (htmx swaps
the two buttons; without JavaScript the form POST redirects back), and ``/settings/signals``, where
a user sees and removes every signal their recommendations learn from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from dailypapers.services.ratelimit import check
from dailypapers.services.signals import list_signals, remove_signal, set_feedback
from dailypapers.web.auth import RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.responses import back_url, is_htmx, redirect, render
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
    return render(request, "signals.html", {"signals": rows, "tab": None})


@router.post("/settings/signals/remove")
def remove(
    session: SessionDep,
    user: RequireUser,
    kind: Annotated[str, Form(max_length=16)],
    arxiv_id: Annotated[str, Form(max_length=64)],
) -> Response:
    remove_signal(session, user, kind, paper_id_or_404(arxiv_id))
    return redirect("/settings/signals", flash="signal-removed")
