"""A user's signals for "For you": what they upvoted, saved, asked more or less of, imported.

Every signal can be seen and removed (``/settings/signals``). A signal on a paper that was deleted
stays listed (so nothing is lost silently) but does not train the model. Callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CompoundSelect, case, delete, exists, literal, select, union_all
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import Collection, CollectionItem, Paper, User, Vote
from dailypapers.db.signals import AuthorFollow, LibraryEntry, PaperFeedback
from dailypapers.services.errors import Invalid
from dailypapers.services.model_state import signals_changed
from dailypapers.services.votes import paper_id_for, unvote

Feedback = Literal["more", "less"]
SignalKind = Literal["upvote", "saved", "more", "less", "library"]
KIND_LABELS = {
    "upvote": "Upvoted",
    "saved": "Saved",
    "more": "More like this",
    "less": "Not interested",
    "library": "Imported",
}


def set_feedback(
    session: Session, user: User, arxiv_id: str, kind: str, *, now: datetime | None = None
) -> str | None:
    """ "More like this" (``more``), "not interested" (``less``) or neither (``clear``) on a paper;
    the last click wins. Returns the feedback now on the paper."""
    if kind not in ("more", "less", "clear"):
        raise Invalid("feedback is 'more', 'less' or 'clear'")
    paper_id = paper_id_for(session, arxiv_id)
    row = session.get(PaperFeedback, (user.id, paper_id))
    if kind == "clear":
        if row is not None:
            session.delete(row)
            signals_changed(session, user.id)
        return None
    if row is None:
        session.add(
            PaperFeedback(user_id=user.id, paper_id=paper_id, kind=kind, created_at=now or utcnow())
        )
    elif row.kind != kind:
        row.kind, row.created_at = kind, now or utcnow()
    else:
        return kind
    signals_changed(session, user.id)
    return kind


def feedback_for(session: Session, user: User | None, paper_ids: list[int]) -> dict[int, str]:
    """The viewer's feedback on these papers (paper id -> more | less)."""
    if user is None or not paper_ids:
        return {}
    rows = session.execute(
        select(PaperFeedback.paper_id, PaperFeedback.kind).where(
            PaperFeedback.user_id == user.id, PaperFeedback.paper_id.in_(paper_ids)
        )
    )
    return {paper_id: kind for paper_id, kind in rows}


@dataclass(frozen=True, slots=True)
class TrainingSignals:
    """Paper ids by role: positives with their weight class, and "not interested"."""

    positives: dict[int, Literal["plain", "more"]]
    negatives: list[int]
    follows: bool = False  # the user follows an author (asked for by For you only)

    @property
    def touched(self) -> set[int]:
        """Every paper the user gave a signal on (left out of their recommendations)."""
        return set(self.positives) | set(self.negatives)


# the kinds of _signal_rows' rows: 0-2 positives (upvote, saved, imported), then feedback
_MORE, _LESS, _FOLLOWS = 3, 4, 5


def _signal_rows(user_id: int, *, follows: bool = False) -> CompoundSelect[tuple[int, int]]:
    """(kind, paper id) of every signal behind a user's model, in one statement (four before:
    each a round trip on PostgreSQL): upvotes, saved papers, imported papers, then feedback;
    ``follows``: and one row more when the user follows an author (For you's)."""
    followed = select(literal(_FOLLOWS), literal(0)).where(
        exists().where(AuthorFollow.user_id == user_id)
    )
    return union_all(
        select(literal(0), Vote.paper_id).where(Vote.user_id == user_id),
        select(literal(1), CollectionItem.paper_id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id),
        select(literal(2), LibraryEntry.paper_id).where(
            LibraryEntry.user_id == user_id, LibraryEntry.paper_id.is_not(None)
        ),
        select(
            case((PaperFeedback.kind == "more", _MORE), else_=_LESS), PaperFeedback.paper_id
        ).where(PaperFeedback.user_id == user_id),
        *([followed] if follows else []),
    )


def training_signals(session: Session, user_id: int, *, follows: bool = False) -> TrainingSignals:
    """The ids behind a user's model. "Not interested" beats a positive on the same paper.
    ``follows``: tell whether the user follows an author too (the same statement)."""
    return _signals_from(session.execute(_signal_rows(user_id, follows=follows)).all())


def _signals_from(rows: Iterable[Any]) -> TrainingSignals:
    """The signals of :func:`_signal_rows`' rows, in any order (a UNION ALL promises none)."""
    positives: dict[int, Literal["plain", "more"]] = {}
    negatives: list[int] = []
    follows = False
    for kind, pid in rows:
        if kind == _FOLLOWS:
            follows = True
        elif pid is None:
            continue
        elif kind < _MORE:
            positives.setdefault(pid, "plain")  # "more like this" on it stays "more"
        elif kind == _MORE:
            positives[pid] = "more"
        else:
            negatives.append(pid)
    for pid in negatives:
        positives.pop(pid, None)
    return TrainingSignals(positives, sorted(negatives), follows)


@dataclass(frozen=True, slots=True)
class SignalRow:
    kind: SignalKind
    paper: Paper
    at: datetime | None
    where: str = ""  # the collection's name, for a saved paper

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def list_signals(session: Session, user: User) -> list[SignalRow]:
    """Every signal of the user, newest first (papers deleted since included)."""
    rows: list[SignalRow] = []
    for paper, at in session.execute(
        select(Paper, Vote.created_at)
        .join(Vote, Vote.paper_id == Paper.id)
        .where(Vote.user_id == user.id)
    ):
        rows.append(SignalRow("upvote", paper, at))
    saved = (
        select(Paper, CollectionItem.added_at, Collection.name)
        .join(CollectionItem, CollectionItem.paper_id == Paper.id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user.id)
    )
    for paper, at, name in session.execute(saved):
        rows.append(SignalRow("saved", paper, at, name))
    feedback = (
        select(Paper, PaperFeedback.created_at, PaperFeedback.kind)
        .join(PaperFeedback, PaperFeedback.paper_id == Paper.id)
        .where(PaperFeedback.user_id == user.id)
    )
    for paper, at, kind in session.execute(feedback):
        rows.append(SignalRow("more" if kind == "more" else "less", paper, at))
    library = (
        select(Paper, LibraryEntry.created_at)
        .join(LibraryEntry, LibraryEntry.paper_id == Paper.id)
        .where(LibraryEntry.user_id == user.id)
    )
    for paper, at in session.execute(library):
        rows.append(SignalRow("library", paper, at))
    rows.sort(key=lambda r: (r.at or datetime.min, r.paper.arxiv_id), reverse=True)
    return rows


def remove_signal(session: Session, user: User, kind: str, arxiv_id: str) -> None:
    """Take one signal back: the upvote, the paper out of every collection of the user, the
    feedback, or the imported entry. Removing one that is not there changes nothing."""
    paper_id = paper_id_for(session, arxiv_id)
    if kind == "upvote":
        unvote(session, user, arxiv_id)
        return
    if kind == "saved":
        owned = select(Collection.id).where(Collection.user_id == user.id)
        statement = delete(CollectionItem).where(
            CollectionItem.paper_id == paper_id, CollectionItem.collection_id.in_(owned)
        )
    elif kind in ("more", "less"):
        statement = delete(PaperFeedback).where(
            PaperFeedback.user_id == user.id, PaperFeedback.paper_id == paper_id
        )
    elif kind == "library":
        statement = delete(LibraryEntry).where(
            LibraryEntry.user_id == user.id, LibraryEntry.paper_id == paper_id
        )
    else:
        raise Invalid(f"there is no kind of signal {kind[:40]!r}")
    if session.execute(statement.execution_options(synchronize_session=False)).rowcount:  # type: ignore[attr-defined]
        signals_changed(session, user.id)
