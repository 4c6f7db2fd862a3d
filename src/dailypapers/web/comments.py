"""Comment forms on the paper page: add, edit and delete your own, hide (admins). Each redirects
back to the paper, so the page works without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from dailypapers.services.comments import add_comment, delete_comment, edit_comment, hide_comment
from dailypapers.services.ratelimit import check
from dailypapers.web.auth import RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.params import RowId
from dailypapers.web.responses import redirect
from dailypapers.web.votes import paper_id_or_404

router = APIRouter(include_in_schema=False, route_class=RequestRoute)
# A little over the service's 10,000-character limit, so it (not the form parser) says why.
Body = Annotated[str, Form(max_length=20_000)]


@router.post("/papers/{arxiv_id:path}/comments")
def post_comment(
    request: Request, session: SessionDep, user: RequireUser, arxiv_id: str, body: Body
) -> Response:
    paper_id = paper_id_or_404(arxiv_id)
    check(session, "comment_user", str(user.id))
    check(session, "write_ip", client_ip(request))
    comment = add_comment(session, user, paper_id, body)
    return redirect(f"/papers/{paper_id}#comment-{comment.id}")


@router.post("/papers/{arxiv_id:path}/comments/{comment_id:int}/edit")
def post_edit(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    arxiv_id: str,
    comment_id: RowId,
    body: Body,
) -> Response:
    paper_id = paper_id_or_404(arxiv_id)
    check(session, "comment_user", str(user.id))
    check(session, "write_ip", client_ip(request))
    edit_comment(session, user, comment_id, body)
    return redirect(f"/papers/{paper_id}#comment-{comment_id}", flash="comment-saved")


@router.post("/papers/{arxiv_id:path}/comments/{comment_id:int}/delete")
def post_delete(
    request: Request, session: SessionDep, user: RequireUser, arxiv_id: str, comment_id: RowId
) -> Response:
    paper_id = paper_id_or_404(arxiv_id)
    check(session, "write_ip", client_ip(request))
    delete_comment(session, user, comment_id)
    return redirect(f"/papers/{paper_id}#comments", flash="comment-deleted")


@router.post("/papers/{arxiv_id:path}/comments/{comment_id:int}/hide")
def post_hide(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    arxiv_id: str,
    comment_id: RowId,
    hidden: Annotated[bool, Form()] = True,
) -> Response:
    paper_id = paper_id_or_404(arxiv_id)
    hide_comment(session, user, comment_id, hidden)
    flash = "comment-hidden" if hidden else "comment-shown"
    return redirect(f"/papers/{paper_id}#comment-{comment_id}", flash=flash)
