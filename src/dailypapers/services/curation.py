"""The curated daily feed, like Hugging Face's (``DAILYPAPERS_DAILY_FEED=curated``): a day's page
lists only the papers curators featured and the community submitted for that day, not every
new arXiv paper ("All new" still shows those).

A feature is a submission (``submissions``, status ready) of a paper the instance has, to the
day today's page shows (the newest announce day), by a curator: an admin, or a user with
``is_curator`` (``dailypapers users add EMAIL --curator``, ``users curator EMAIL``). Featuring a
paper twice on one day is one feature. Callers commit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.dialect import insert_ignore
from dailypapers.db.models import Paper, Submission, User
from dailypapers.services.accounts import get_user_by_email
from dailypapers.services.errors import Invalid, NotAllowed, NotFound
from dailypapers.services.feeds import latest_day
from dailypapers.services.submissions import READY
from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id

FEEDS = ("curated", "all")


def can_curate(user: User | None) -> bool:
    """Whether ``user`` may feature papers: admins and curators."""
    return user is not None and bool(user.is_admin or user.is_curator)


def feature(
    session: Session,
    user: User,
    text: str,
    *,
    day: date | None = None,
    now: datetime | None = None,
) -> Submission:
    """Feature the paper ``text`` names (an arXiv id or URL) on ``day`` (default: today's page,
    the newest announce day). NotAllowed for anyone but curators and admins, NotFound for a
    paper the instance lacks (submit it first), Invalid for what is not an arXiv id."""
    if not can_curate(user):
        raise NotAllowed("only curators and admins feature papers")
    try:
        arxiv_id, _ = parse_arxiv_id(text.strip())
    except InvalidArxivId:
        raise Invalid(f"{text.strip()[:80]!r} is not an arXiv id or arXiv URL") from None
    paper_id = session.scalar(
        select(Paper.id).where(Paper.arxiv_id == arxiv_id, Paper.deleted_at.is_(None))
    )
    if paper_id is None:
        raise NotFound(f"paper {arxiv_id} is not in this instance; submit it first")
    chosen = day or latest_day(session)
    assert chosen is not None  # the paper exists, so some day does
    insert_ignore(
        session,
        Submission,
        arxiv_id=arxiv_id,
        day=chosen,
        paper_id=paper_id,
        user_id=user.id,
        status=READY,
        created_at=now or utcnow(),
    )
    found = session.scalars(
        select(Submission).where(Submission.arxiv_id == arxiv_id, Submission.day == chosen)
    ).one()
    if found.status != READY:  # a pending submission of the day, now that we have the paper
        found.status, found.paper_id = READY, paper_id
    return found


def set_curator(session: Session, email: str, curator: bool) -> User:
    """Grant (or with ``curator=False`` take back) the curator role of an existing account."""
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no account for {email.strip()[:80]!r}; create it with `users add`")
    user.is_curator = curator
    return user
