"""Submissions ("daily picks"): a signed-in user puts an arXiv paper into a day's feed.

Which day: a paper the instance already has is featured on its own announce day (where its
feed already shows it, now marked "submitted by"); only a paper new to the instance is featured
on the submission day (today, UTC), as well as on its own day once it is fetched. So submitting
an old paper of the demo's sample neither creates a feed day 17 months after the sample nor
moves the paper; a paper nobody here had yet joins today's feed.
One submission per arXiv id and day: a second one of the same day returns the first (merged).
A paper we do not have yet is queued as ``pending`` and filled in from arXiv's export API by
:func:`resolve_pending` (``dailypapers submissions resolve``); ids arXiv does not know end
``missing``. Only ``ready`` submissions show in feeds. :func:`submit` never commits: callers
commit (the request owns the transaction); :func:`resolve_pending` takes the engine and owns
its transactions.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.dialect import insert_ignore
from dailypapers.db.models import Paper, Submission, User
from dailypapers.services.errors import Invalid
from dailypapers.services.harvest import lookup_ids
from dailypapers.sources.arxiv.http import PoliteClient
from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id

READY, PENDING, MISSING = "ready", "pending", "missing"


def submit(
    session: Session,
    user: User,
    text: str,
    *,
    day: date | None = None,
    now: datetime | None = None,
    organization_id: int | None = None,
) -> Submission:
    """Submit an arXiv id or URL: a paper we have goes to its own announce day, a paper new to
    the instance to ``day`` (the submission day; default: today, UTC). ``organization_id``: on
    behalf of that organization (the caller checked membership: services/organizations.py); a
    merged submission without one takes it."""
    try:
        arxiv_id, _ = parse_arxiv_id(text.strip())
    except InvalidArxivId:
        raise Invalid(f"{text.strip()[:80]!r} is not an arXiv id or arXiv URL") from None
    moment = now or utcnow()
    known = session.execute(
        select(Paper.id, Paper.announced_on).where(Paper.arxiv_id == arxiv_id)
    ).first()
    paper_id, day = (known[0], known[1]) if known else (None, day or moment.date())
    insert_ignore(
        session,
        Submission,
        arxiv_id=arxiv_id,
        day=day,
        paper_id=paper_id,
        user_id=user.id,
        status=PENDING if paper_id is None else READY,
        created_at=moment,
        organization_id=organization_id,
    )
    submission = session.scalars(
        select(Submission).where(Submission.arxiv_id == arxiv_id, Submission.day == day)
    ).one()
    if organization_id is not None and submission.organization_id is None:
        submission.organization_id = organization_id
    return submission


def pending(session: Session) -> list[Submission]:
    """Submissions still waiting for their paper, oldest first."""
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.status == PENDING)
            .order_by(Submission.created_at, Submission.id)
        )
    )


def count_pending(engine: Engine) -> int:
    """How many submissions wait for their paper."""
    with Session(engine) as session:
        return int(
            session.scalar(select(func.count(Submission.id)).where(Submission.status == PENDING))
            or 0
        )


def resolve_pending(engine: Engine, settings: Settings, client: PoliteClient) -> int:
    """Fill pending submissions: papers we have now, then the rest from arXiv; how many resolved."""
    with Session(engine) as session:
        wanted = sorted({s.arxiv_id for s in pending(session)})
        known = _paper_ids(session, wanted)
    missing: list[str] = []
    unknown = [i for i in wanted if i not in known]
    if unknown:
        _, missing = lookup_ids(engine, client, settings, unknown)
    # Its own transaction, after the arXiv lookup committed what it fetched (batch by batch):
    # no transaction stays open while arXiv is asked.
    with Session(engine) as session, session.begin():
        resolved = _settle(session, set(missing))
    return resolved


def _paper_ids(session: Session, arxiv_ids: list[str]) -> dict[str, int]:
    if not arxiv_ids:
        return {}
    rows = session.execute(select(Paper.arxiv_id, Paper.id).where(Paper.arxiv_id.in_(arxiv_ids)))
    return {arxiv_id: paper_id for arxiv_id, paper_id in rows}


def _settle(session: Session, missing: set[str]) -> int:
    """Mark pending submissions ready (paper present) or missing (arXiv does not know it)."""
    waiting = pending(session)
    papers = _paper_ids(session, sorted({s.arxiv_id for s in waiting}))
    resolved = 0
    for submission in waiting:
        if submission.arxiv_id in papers:
            submission.status, submission.paper_id = READY, papers[submission.arxiv_id]
        elif submission.arxiv_id in missing:
            submission.status = MISSING
        else:
            continue
        resolved += 1
    return resolved


def submitters(session: Session, paper_ids: list[int], start: date, end: date) -> dict[int, str]:
    """Paper id -> display name of its (first) submitter in the period, for "submitted by"."""
    if not paper_ids:
        return {}
    names = period_submitters(session, start, end)
    return {paper_id: names[paper_id] for paper_id in paper_ids if paper_id in names}


def period_submitters(session: Session, start: date, end: date) -> dict[int, str]:
    """Every paper submitted (ready) in the period -> its first submitter's display name.

    One small query on the ``day`` index; the feeds use it both to add these papers to the
    period and to label them, so a feed page costs one extra query, not two.
    """
    submissions, users = Submission.__table__, User.__table__
    rows = session.connection().execute(
        select(submissions.c.paper_id, users.c.display_name)
        .join(users, users.c.id == submissions.c.user_id)
        .where(
            submissions.c.day.between(start, end),
            submissions.c.status == READY,
            submissions.c.paper_id.is_not(None),
        )
        .order_by(submissions.c.day, submissions.c.created_at, submissions.c.id)
    )
    names: dict[int, str] = {}
    for paper_id, name in rows:
        names.setdefault(paper_id, name)
    return names
