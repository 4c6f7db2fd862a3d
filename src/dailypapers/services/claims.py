"""Claimed authors: a signed-in user says "I am this author of this paper"; a profile lists them.

arXiv lists no email addresses, so a claim cannot be checked automatically: every claim waits
(``pending``) until an admin approves or rejects it (``dailypapers users claims``, or
``/admin/claims``). One author name of a paper has at most one pending or approved claim: a
second one is a :class:`Conflict`. Approved claims mark the author on cards and paper pages and
fill the profile ``/users/{id}`` (their papers and the upvotes those received). Nothing here
commits: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.author_index import name_tokens
from dailypapers.db.models import Paper, User
from dailypapers.db.orgs import AuthorClaim
from dailypapers.search.authors import name_matches
from dailypapers.services.errors import Conflict, Invalid, NotFound

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
LIVE = (PENDING, APPROVED)


@dataclass(frozen=True, slots=True)
class Profile:
    user: User
    papers: list[Paper]  # approved claims, newest first
    upvotes: int  # received by those papers


def claim_author(
    session: Session, user: User, paper: Paper, position: int, *, now: datetime | None = None
) -> AuthorClaim:
    """Claim the author at ``position`` (0: first) of ``paper``; pending until an admin decides."""
    if not 0 <= position < len(paper.authors):
        raise Invalid(f"paper {paper.arxiv_id} has no author number {position + 1}")
    held = session.scalars(
        select(AuthorClaim).where(
            AuthorClaim.paper_id == paper.id,
            AuthorClaim.position == position,
            AuthorClaim.status.in_(LIVE),
        )
    ).first()
    name = str(paper.authors[position])
    if held is not None:
        if held.user_id == user.id:
            return held  # asked again: the same claim
        state = "claimed" if held.status == APPROVED else "claimed (awaiting approval)"
        raise Conflict(f"{name} on paper {paper.arxiv_id} is already {state} by another account")
    claim = AuthorClaim(
        paper_id=paper.id,
        position=position,
        name=name,
        user_id=user.id,
        status=PENDING,
        created_at=now or utcnow(),
    )
    session.add(claim)
    session.flush()
    return claim


def pending_claims(session: Session) -> list[tuple[AuthorClaim, User, Paper]]:
    """Claims awaiting a decision, oldest first, with who claims and which paper."""
    rows = session.execute(
        select(AuthorClaim, User, Paper)
        .join(User, User.id == AuthorClaim.user_id)
        .join(Paper, Paper.id == AuthorClaim.paper_id)
        .where(AuthorClaim.status == PENDING)
        .order_by(AuthorClaim.created_at, AuthorClaim.id)
    )
    return [(claim, user, paper) for claim, user, paper in rows]


def decide(session: Session, claim_id: int, *, approve: bool) -> AuthorClaim:
    """Approve or reject a pending claim."""
    claim = session.get(AuthorClaim, claim_id)
    if claim is None:
        raise NotFound(f"no claim {claim_id}")
    if claim.status != PENDING:
        raise Invalid(f"claim {claim_id} is already {claim.status}")
    claim.status = APPROVED if approve else REJECTED
    claim.decided_at = utcnow()
    session.flush()
    return claim


def claimed_authors(session: Session, paper_ids: list[int]) -> dict[int, dict[int, int]]:
    """Paper id -> {author position -> the user id whose approved claim it is}."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(AuthorClaim.paper_id, AuthorClaim.position, AuthorClaim.user_id).where(
            AuthorClaim.paper_id.in_(paper_ids), AuthorClaim.status == APPROVED
        )
    )
    found: dict[int, dict[int, int]] = {}
    for paper_id, position, user_id in rows:
        found.setdefault(paper_id, {})[position] = user_id
    return found


def profile(session: Session, user_id: int) -> Profile:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    ids = select(AuthorClaim.paper_id).where(
        AuthorClaim.user_id == user.id, AuthorClaim.status == APPROVED
    )
    papers = list(
        session.scalars(
            select(Paper)
            .where(Paper.id.in_(ids))
            .order_by(Paper.announced_on.desc(), Paper.arxiv_id.desc())
        )
    )
    return Profile(user, papers, sum(p.upvotes for p in papers))


def author_claimants(session: Session, paper_ids: list[int], tokens: tuple[str, ...]) -> list[User]:
    """Users with an approved claim, on one of these papers, to a name ``tokens`` names (for the
    author page's link to their profile), most claims first."""
    if not paper_ids or not tokens:
        return []
    rows = session.execute(
        select(AuthorClaim.name, User)
        .join(User, User.id == AuthorClaim.user_id)
        .where(AuthorClaim.paper_id.in_(paper_ids), AuthorClaim.status == APPROVED)
    )
    counts: dict[int, int] = {}
    users: dict[int, User] = {}
    for name, user in rows:
        if name_matches(tokens, name_tokens(name)):
            counts[user.id] = counts.get(user.id, 0) + 1
            users[user.id] = user
    return [users[i] for i in sorted(counts, key=lambda i: (-counts[i], i))]
