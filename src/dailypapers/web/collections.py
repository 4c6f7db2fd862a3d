"""Collections: named reading lists with a note per paper; public ones have a page and an Atom feed.

"Save" on a card opens a small form (inline with htmx, a page without JavaScript) to pick one of
your collections or name a new one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dailypapers.db.models import Collection, User
from dailypapers.services.card_extras import card_extras
from dailypapers.services.collections import (
    add_item,
    create_collection,
    delete_collection,
    get_collection,
    items,
    remove_item,
    update_collection,
    user_collections,
)
from dailypapers.services.papers import get_paper
from dailypapers.services.ratelimit import check
from dailypapers.web.auth import CurrentUser, RequireUser, client_ip
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.params import RowId, row_id
from dailypapers.web.responses import is_htmx, redirect, render
from dailypapers.web.votes import paper_id_or_404

router = APIRouter(include_in_schema=False, route_class=RequestRoute)
Name = Annotated[str, Form(max_length=200)]
Description = Annotated[str, Form(max_length=5_000)]
Note = Annotated[str, Form(max_length=5_000)]
ArxivField = Annotated[str, Form(max_length=300)]


def _count_write(session: Session, request: Request) -> None:
    check(session, "write_ip", client_ip(request))


@router.get("/collections")
def my_collections(request: Request, session: SessionDep, user: RequireUser) -> Response:
    return render(request, "collections.html", {"collections": user_collections(session, user)})


@router.post("/collections")
def new_collection(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    name: Name,
    description: Description = "",
    public: Annotated[bool, Form()] = False,
) -> Response:
    _count_write(session, request)
    collection = create_collection(session, user, name, description=description, public=public)
    return redirect(f"/collections/{collection.id}", flash="collection-created")


@router.get("/collections/{collection_id:int}")
def collection_page(
    request: Request, session: SessionDep, user: CurrentUser, collection_id: RowId
) -> Response:
    collection = get_collection(session, collection_id, user)
    entries = items(session, collection)
    context = {
        "collection": collection,
        "entries": entries,
        "extras": card_extras(session, user, [paper for paper, _ in entries]),
        "is_owner": user is not None and user.id == collection.user_id,
        "owner": session.get(User, collection.user_id),
    }
    return render(request, "collection.html", context)


@router.post("/collections/{collection_id:int}/edit")
def edit_collection(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    collection_id: RowId,
    name: Name,
    description: Description = "",
    public: Annotated[bool, Form()] = False,
) -> Response:
    _count_write(session, request)
    update_collection(
        session, user, collection_id, name=name, description=description, public=public
    )
    return redirect(f"/collections/{collection_id}", flash="collection-saved")


@router.post("/collections/{collection_id:int}/delete")
def remove_collection(
    request: Request, session: SessionDep, user: RequireUser, collection_id: RowId
) -> Response:
    _count_write(session, request)
    delete_collection(session, user, collection_id)
    return redirect("/collections", flash="collection-deleted")


@router.post("/collections/{collection_id:int}/items")
def save_item(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    collection_id: RowId,
    arxiv: ArxivField,
    note: Note = "",
) -> Response:
    """Add a paper, or change its note (adding again updates the note)."""
    _count_write(session, request)
    add_item(session, user, collection_id, paper_id_or_404(arxiv), note)
    return redirect(f"/collections/{collection_id}", flash="saved")


@router.post("/collections/{collection_id:int}/items/remove")
def remove_paper(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    collection_id: RowId,
    arxiv: ArxivField,
) -> Response:
    _count_write(session, request)
    remove_item(session, user, collection_id, paper_id_or_404(arxiv))
    return redirect(f"/collections/{collection_id}", flash="removed")


def _save_context(session: Session, user: User, arxiv_id: str) -> dict[str, object]:
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id} is not in this instance")
    return {"paper": paper, "collections": user_collections(session, user)}


@router.get("/papers/{arxiv_id:path}/save")
def save_form(request: Request, session: SessionDep, user: RequireUser, arxiv_id: str) -> Response:
    context = _save_context(session, user, paper_id_or_404(arxiv_id))
    return render(request, "_save_form.html" if is_htmx(request) else "save.html", context)


@router.post("/papers/{arxiv_id:path}/save")
def save_paper(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    arxiv_id: str,
    collection: Annotated[str, Form(max_length=20)] = "new",
    new_name: Name = "",
    note: Note = "",
) -> Response:
    """Save to one of your collections, or to a new one named in the form."""
    paper = get_paper(session, paper_id_or_404(arxiv_id))
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id[:80]} is not in this instance")
    _count_write(session, request)
    target = _target_collection(session, user, collection, new_name)
    add_item(session, user, target.id, paper.arxiv_id, note)
    if is_htmx(request):
        return render(request, "_saved.html", {"collection": target})
    return redirect(f"/collections/{target.id}", flash="saved")


def _target_collection(session: Session, user: User, choice: str, new_name: str) -> Collection:
    if choice == "new":
        return create_collection(session, user, new_name)
    chosen = row_id(choice)
    if chosen is None:
        raise HTTPProblem(400, "choose one of your collections or name a new one")
    return get_collection(session, chosen, user)
