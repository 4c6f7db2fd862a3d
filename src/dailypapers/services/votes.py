"""Upvotes: one per user and paper, with ``papers.upvotes`` as the cached count feeds sort by.

The counter moves only when a vote row was really inserted or deleted (``INSERT ... ON CONFLICT DO
NOTHING`` / ``DELETE`` row counts), in the same transaction, so racing clicks never lose or double a
vote. Each click first locks the paper's row (``FOR UPDATE``; SQLite's writers are serial anyway), so
one user's racing clicks on one paper apply one after another and each answers the state it left
(on PostgreSQL a delete would otherwise miss a vote row another click has not committed yet). Write
functions never commit: callers commit (the request or command owns the transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.dialect import insert_ignore
from dailypapers.db.models import Paper, User, Vote
from dailypapers.services.errors import NotFound
from dailypapers.services.model_state import signals_changed
from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id


def paper_id_for(session: Session, arxiv_id: str) -> int:
    """The database id of a paper given by arXiv id or URL; NotFound when we do not have it."""
    try:
        bare, _ = parse_arxiv_id(arxiv_id)
    except InvalidArxivId:
        raise NotFound(f"there is no paper {arxiv_id[:80]!r}") from None
    found = session.scalar(select(Paper.id).where(Paper.arxiv_id == bare))
    if found is None:
        raise NotFound(f"there is no paper {bare}")
    return found


def _locked_paper_id(session: Session, arxiv_id: str) -> int:
    """The paper's id, with its row locked until the transaction ends (see the module docstring)."""
    paper_id = paper_id_for(session, arxiv_id)
    session.execute(select(Paper.id).where(Paper.id == paper_id).with_for_update())
    return paper_id


def _count(session: Session, paper_id: int) -> int:
    return int(session.scalar(select(Paper.upvotes).where(Paper.id == paper_id)) or 0)


def _bump(session: Session, paper_id: int, step: int) -> int:
    """Move the cached count by ``step``; the new count (one statement, RETURNING)."""
    return int(
        session.execute(
            update(Paper)
            .where(Paper.id == paper_id)
            .values(upvotes=Paper.upvotes + step)
            .returning(Paper.upvotes)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    )


def vote(session: Session, user: User, arxiv_id: str, *, now: datetime | None = None) -> int:
    """Upvote (again: no change); returns the paper's new count."""
    paper_id = _locked_paper_id(session, arxiv_id)
    if insert_ignore(session, Vote, user_id=user.id, paper_id=paper_id, created_at=now or utcnow()):
        count = _bump(session, paper_id, +1)
        signals_changed(session, user.id)
    else:
        count = _count(session, paper_id)
    return count


def unvote(session: Session, user: User, arxiv_id: str) -> int:
    """Take an upvote back (none: no change); returns the paper's new count."""
    paper_id = _locked_paper_id(session, arxiv_id)
    removed = session.execute(
        delete(Vote)
        .where(Vote.user_id == user.id, Vote.paper_id == paper_id)
        .execution_options(synchronize_session=False)
    )
    if removed.rowcount == 1:  # type: ignore[attr-defined]
        count = _bump(session, paper_id, -1)
        signals_changed(session, user.id)
    else:
        count = _count(session, paper_id)
    return count


def toggle(
    session: Session, user: User, arxiv_id: str, *, now: datetime | None = None
) -> tuple[bool, int]:
    """Flip the user's vote (the upvote button); returns (voted now?, count)."""
    paper_id = _locked_paper_id(session, arxiv_id)
    if paper_id in voted_ids(session, user, [paper_id]):
        return False, unvote(session, user, arxiv_id)
    return True, vote(session, user, arxiv_id, now=now)


def voted_ids(session: Session, user: User | None, paper_ids: list[int]) -> set[int]:
    """Which of these papers ``user`` upvoted (for filled-in buttons); empty when signed out."""
    if user is None or not paper_ids:
        return set()
    return set(
        session.scalars(
            select(Vote.paper_id).where(Vote.user_id == user.id, Vote.paper_id.in_(paper_ids))
        )
    )
