"""Followed authors: a signed-in user follows an author from their page (``/authors/{name}``);
the author's papers of a period then come first in the user's "For you" list, the API's
recommendations and the digest's "For you" section ("You follow X").

An author is who the author index says (:mod:`dailypapers.db.author_index`): a follow stores the
name's normalised key (accents, case, punctuation and word order folded), so every spelling of
the name that the author page accepts finds the same papers. Following is a signal like the
others: listed and removable at ``/settings/signals``. It needs no retraining (the model learns
from papers; a follow only puts the author's papers on top), so it does not touch the model's
version. Callers commit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.author_index import MAX_NAME_LENGTH, name_tokens
from dailypapers.db.dialect import insert_ignore
from dailypapers.db.models import Paper, PaperAuthor, User
from dailypapers.db.signals import AuthorFollow
from dailypapers.search.authors import author_paper_ids, name_matches
from dailypapers.services.errors import Invalid, NotFound

MAX_FOLLOWS = 500  # authors one user may follow
RESOLVE_PAPERS = 200  # papers read to find the key most of an author's papers give them


def name_key(name: str) -> str:
    """The author index's key of a name ("Zhou, Tianyi" -> "zhou tianyi"); "" without letters."""
    return " ".join(name_tokens(name.strip()))[:MAX_NAME_LENGTH]


def _tokens(key: str) -> tuple[str, ...]:
    return tuple(key.split())


def _resolve(session: Session, shown: str) -> tuple[str, str] | None:
    """The author index's key for the author ``shown`` names, and their usual spelling: the
    key most of their papers give them (so "Hopper, Grace" and "G. Hopper" follow the same
    author as "Grace Hopper"), or None when no paper here is by that name."""
    tokens = tuple(name_tokens(shown))
    ids = author_paper_ids(session.connection(), tokens)
    if not ids:
        return None
    rows = session.execute(
        select(PaperAuthor.name_key, PaperAuthor.position, Paper.authors)
        .join(Paper, Paper.id == PaperAuthor.paper_id)
        .where(PaperAuthor.paper_id.in_(ids[:RESOLVE_PAPERS]))
    ).all()
    keys: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for key, position, authors in rows:
        if name_matches(tokens, key.split()):
            keys[key] += 1
            if isinstance(authors, list) and position < len(authors):
                spelling.setdefault(key, " ".join(str(authors[position]).split()))
    if not keys:
        return None
    key = keys.most_common(1)[0][0]
    return key, spelling.get(key, shown)[:MAX_NAME_LENGTH]


def follow_author(
    session: Session, user: User, name: str, *, now: datetime | None = None
) -> AuthorFollow:
    """Follow the author ``name`` names (any spelling the author page takes). Following twice
    keeps the first follow. NotFound when no paper here is by that name, Invalid for a name
    without letters, too long a name, or too many follows."""
    shown = " ".join(name.split())
    if len(shown) > MAX_NAME_LENGTH:
        raise Invalid(f"an author name is at most {MAX_NAME_LENGTH} characters")
    if not name_key(shown):
        raise Invalid(f"{shown[:80]!r} is not an author name")
    found = _resolve(session, shown)
    if found is None:
        raise NotFound(f"no papers by {shown[:80]!r} in this instance")
    key, spelling = found
    existing = session.get(AuthorFollow, (user.id, key))
    if existing is not None:
        return existing
    count = len(followed_authors(session, user))
    if count >= MAX_FOLLOWS:
        raise Invalid(f"you follow {count} authors already, the most there can be")
    insert_ignore(
        session,
        AuthorFollow,
        user_id=user.id,
        name_key=key,
        name=spelling,
        created_at=now or utcnow(),
    )
    followed = session.get(AuthorFollow, (user.id, key))
    assert followed is not None
    return followed


def unfollow_author(session: Session, user: User, name: str) -> bool:
    """Stop following the author ``name`` names (any spelling); False when not followed."""
    tokens = tuple(name_tokens(name.strip()))
    if not tokens:
        return False
    gone = [f.name_key for f in followed_authors(session, user) if _same(tokens, f.name_key)]
    if not gone:
        return False
    session.execute(
        delete(AuthorFollow)
        .where(AuthorFollow.user_id == user.id, AuthorFollow.name_key.in_(gone))
        .execution_options(synchronize_session=False)
    )
    return True


def _same(tokens: tuple[str, ...], key: str) -> bool:
    return " ".join(tokens) == key or name_matches(tokens, key.split())


def followed_authors(session: Session, user: User) -> list[AuthorFollow]:
    """The authors the user follows, in the order they were followed."""
    return list(
        session.scalars(
            select(AuthorFollow)
            .where(AuthorFollow.user_id == user.id)
            .order_by(AuthorFollow.created_at, AuthorFollow.name_key)
        )
    )


def is_following(session: Session, user: User | None, name: str) -> bool:
    """Whether the viewer follows the author ``name`` names (False when signed out)."""
    tokens = tuple(name_tokens(name.strip()))
    if user is None or not tokens:
        return False
    return any(_same(tokens, f.name_key) for f in followed_authors(session, user))


@dataclass(frozen=True, slots=True)
class FollowedPapers:
    """The followed authors' papers among some candidates, newest first, then most upvoted."""

    ids: list[int]
    authors: dict[int, str]  # paper id -> the name of the (first) followed author on it


def followed_papers(
    session: Session, user: User, where: list[ColumnElement[bool]], exclude: set[int]
) -> FollowedPapers:
    """The papers matching ``where`` (a feed's clauses) by authors the user follows, leaving
    out ``exclude`` (papers the user already gave a signal on)."""
    follows = followed_authors(session, user)
    if not follows:
        return FollowedPapers([], {})
    by: dict[int, str] = {}
    connection = session.connection()
    for follow in follows:
        for paper_id in author_paper_ids(connection, _tokens(follow.name_key)):
            if paper_id not in exclude:
                by.setdefault(paper_id, follow.name)
    if not by:
        return FollowedPapers([], {})
    ids = list(
        session.scalars(
            select(Paper.id)
            .where(*where, Paper.id.in_(list(by)))
            .order_by(Paper.announced_on.desc(), Paper.upvotes.desc(), Paper.arxiv_id.desc())
        )
    )
    return FollowedPapers(ids, {pid: by[pid] for pid in ids})
