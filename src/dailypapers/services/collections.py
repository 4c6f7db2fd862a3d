"""Collections: named reading lists of papers with a note each, private or public.

Only the owner changes a collection (another user's public one → NotAllowed); a private
collection is invisible to everyone else, reading or writing (NotFound, so its existence does not
leak). Writes never commit: callers commit (the request or the command owns the transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import Collection, CollectionItem, Paper, User
from dailypapers.services.errors import Invalid, NotAllowed, NotFound
from dailypapers.services.model_state import signals_changed
from dailypapers.services.votes import paper_id_for

MAX_NAME = 120
MAX_TEXT = 2_000  # description and notes


def _name(name: str) -> str:
    text = name.replace("\x00", "").strip()  # NUL: invisible, and PostgreSQL refuses it in text
    if not 1 <= len(text) <= MAX_NAME:
        raise Invalid(f"a collection name has 1 to {MAX_NAME} characters")
    return text


def _text(text: str, what: str) -> str:
    if len(text) > MAX_TEXT:
        raise Invalid(f"a {what} has at most {MAX_TEXT:,} characters")
    return text.replace("\x00", "").strip()


def create_collection(
    session: Session,
    user: User,
    name: str,
    *,
    description: str = "",
    public: bool = False,
    now: datetime | None = None,
) -> Collection:
    moment = now or utcnow()
    collection = Collection(
        user_id=user.id,
        name=_name(name),
        description=_text(description, "description"),
        is_public=public,
        created_at=moment,
        updated_at=moment,
    )
    session.add(collection)
    session.flush()  # the id: the caller links to the new collection
    return collection


def _owned(session: Session, user: User, collection_id: int) -> Collection:
    """The user's own collection; someone else's private one is NotFound exactly like a missing
    one (a different answer would tell which ids hold private collections), a public one that
    everybody sees is NotAllowed."""
    collection = session.get(Collection, collection_id)
    if collection is None or (collection.user_id != user.id and not collection.is_public):
        raise NotFound(f"there is no collection {collection_id}")
    if collection.user_id != user.id:
        raise NotAllowed("this collection belongs to someone else")
    return collection


def update_collection(
    session: Session,
    user: User,
    collection_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    public: bool | None = None,
) -> Collection:
    """Change what is given (None: keep)."""
    collection = _owned(session, user, collection_id)
    if name is not None:
        collection.name = _name(name)
    if description is not None:
        collection.description = _text(description, "description")
    if public is not None:
        collection.is_public = public
    collection.updated_at = utcnow()
    return collection


def delete_collection(session: Session, user: User, collection_id: int) -> None:
    collection = _owned(session, user, collection_id)
    session.execute(delete(CollectionItem).where(CollectionItem.collection_id == collection.id))
    session.delete(collection)
    signals_changed(session, user.id)


def user_collections(session: Session, user: User) -> list[Collection]:
    """The user's collections, most recently changed first."""
    return list(
        session.scalars(
            select(Collection)
            .where(Collection.user_id == user.id)
            .order_by(Collection.updated_at.desc(), Collection.id.desc())
        )
    )


def get_collection(session: Session, collection_id: int, viewer: User | None) -> Collection:
    """A public collection, or a private one to its owner; NotFound otherwise."""
    collection = session.get(Collection, collection_id)
    if collection is None or not (
        collection.is_public or (viewer is not None and viewer.id == collection.user_id)
    ):
        raise NotFound(f"there is no collection {collection_id}")
    return collection


def add_item(
    session: Session,
    user: User,
    collection_id: int,
    arxiv_id: str,
    note: str = "",
    *,
    now: datetime | None = None,
) -> CollectionItem:
    """Save a paper (saving it again replaces its note)."""
    collection = _owned(session, user, collection_id)
    paper_id = paper_id_for(session, arxiv_id)
    moment = now or utcnow()
    item = session.get(CollectionItem, (collection.id, paper_id))
    if item is None:
        item = CollectionItem(collection_id=collection.id, paper_id=paper_id, added_at=moment)
        session.add(item)
        signals_changed(session, user.id)
    item.note = _text(note, "note")
    collection.updated_at = moment
    return item


def remove_item(session: Session, user: User, collection_id: int, arxiv_id: str) -> None:
    """Take a paper out (not in it: no change)."""
    collection = _owned(session, user, collection_id)
    paper_id = paper_id_for(session, arxiv_id)
    removed = session.execute(
        delete(CollectionItem).where(
            CollectionItem.collection_id == collection.id, CollectionItem.paper_id == paper_id
        )
    )
    if removed.rowcount:  # type: ignore[attr-defined]
        signals_changed(session, user.id)
    collection.updated_at = utcnow()


def items(session: Session, collection: Collection) -> list[tuple[Paper, str]]:
    """The collection's papers with their notes, most recently added first."""
    rows = session.execute(
        select(Paper, CollectionItem.note)
        .join(CollectionItem, CollectionItem.paper_id == Paper.id)
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.added_at.desc(), Paper.arxiv_id.desc())
    )
    return [(paper, note) for paper, note in rows]
