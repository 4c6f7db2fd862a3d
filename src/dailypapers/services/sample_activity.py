"""Sample votes and comments for the demo, so Trending is not the daily feed again.

``dailypapers demo`` adds them once to a database that holds only the bundled sample: 40
accounts named "Sample reader 1" ... "Sample reader 40" (addresses ``@sample.invalid``, which
can never receive mail or sign in), about 1,700 upvotes spread the way attention spreads (most
papers none, a few many, papers with code a little more), and a few dozen short comments on the
most voted papers. Everything is drawn from one fixed seed over the sample in arXiv-id order, so
every demo database gets the same activity; a second run finds it there and adds nothing. A
database with accounts or papers of its own never gets any (:func:`add_sample_activity` says
why), and :func:`remove_sample_activity` takes it all back (``demo --no-sample-activity``).
Pages say that these votes are sample data while the accounts exist (:func:`has_sample_activity`).
Callers commit.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.orm import Session

from dailypapers.db.models import Comment, Paper, User, Vote
from dailypapers.services.comments import render_comment

DOMAIN = "sample.invalid"  # RFC 2606: never delivered, refused by the sign-in form
READERS = 40
SEED = "dailypapers sample activity 1"
VOTED_SHARE = 0.18  # papers with at least one vote (more for papers with code)
COMMENTED_PAPERS = 24
COMMENTS = [
    "Clear write-up; the ablations answer most of the questions I had.",
    "Is the code available yet? I'd like to try this on our data.",
    "Saving this for our reading group next week.",
    "Nice to see a strong baseline comparison for once.",
    "How does this hold up at larger scale? The experiments stop fairly small.",
    "The related-work section alone makes this worth reading.",
    "Interesting result, though I'd like to see variance over more seeds.",
    "This pairs well with last week's paper on the same benchmark.",
    "The figure on page 3 explains the method better than the abstract.",
    "Curious whether the gains survive a different tokenizer.",
    "Good paper. The limitations section is refreshingly honest.",
    "Has anyone reproduced the main table?",
]


@dataclass(frozen=True, slots=True)
class SampleActivity:
    readers: int
    votes: int
    comments: int
    added: bool = False  # by this call (else: found there)


def reader_email(number: int) -> str:
    return f"sample-reader-{number}@{DOMAIN}"


def _readers_filter() -> ColumnElement[bool]:
    return User.email.endswith(f"@{DOMAIN}")


def has_sample_activity(session: Session) -> bool:
    """Whether this database holds the demo's sample accounts (pages then say so)."""
    return session.scalar(select(User.id).where(_readers_filter()).limit(1)) is not None


def count_sample_activity(session: Session) -> SampleActivity:
    readers = select(User.id).where(_readers_filter()).scalar_subquery()
    return SampleActivity(
        readers=int(session.scalar(select(func.count(User.id)).where(_readers_filter())) or 0),
        votes=int(session.scalar(select(func.count()).where(Vote.user_id.in_(readers))) or 0),
        comments=int(
            session.scalar(select(func.count(Comment.id)).where(Comment.user_id.in_(readers))) or 0
        ),
    )


def why_not(session: Session, sample_ids: Collection[str]) -> str | None:
    """Why this database must not get sample activity, or None when it is a demo database."""
    if session.scalar(select(User.id).where(~_readers_filter()).limit(1)) is not None:
        return "this database has accounts of its own"
    papers = int(session.scalar(select(func.count(Paper.id))) or 0)
    if papers > len(sample_ids) or not set(session.scalars(select(Paper.arxiv_id))) <= set(
        sample_ids
    ):
        return "this database has papers besides the bundled sample"
    return None


def add_sample_activity(session: Session, sample_ids: Collection[str]) -> SampleActivity | str:
    """Add the sample votes and comments (once); the counts, or why none were added."""
    if has_sample_activity(session):
        return count_sample_activity(session)
    reason = why_not(session, sample_ids)
    if reason:
        return reason
    papers = list(session.scalars(select(Paper).order_by(Paper.arxiv_id)))
    if not papers:
        return "there are no papers yet"
    rng = random.Random(SEED)
    start = min(p.announced_on for p in papers) - timedelta(days=1)
    created = datetime.combine(start, time(12))
    readers = [
        User(email=reader_email(n), display_name=f"Sample reader {n}", created_at=created)
        for n in range(1, READERS + 1)
    ]
    session.add_all(readers)
    session.flush()
    newest = max(p.announced_on for p in papers)
    votes: list[dict[str, object]] = []
    counts: dict[int, int] = {}
    for paper in papers:
        share = VOTED_SHARE * (1.6 if paper.code_url else 1.0)
        if rng.random() >= share:
            continue
        count = min(int(rng.paretovariate(1.4)), rng.randint(READERS * 3 // 5, READERS))
        days = (newest - paper.announced_on).days + 1
        for reader in rng.sample(readers, count):
            moment = datetime.combine(paper.announced_on, time(1)) + timedelta(
                hours=rng.uniform(0, 24 * days - 2)
            )
            votes.append({"user_id": reader.id, "paper_id": paper.id, "created_at": moment})
        counts[paper.id] = count
    if votes:
        session.execute(insert(Vote), votes)
    for paper in papers:
        if paper.id in counts:
            paper.upvotes += counts[paper.id]
    comments = _comments(session, rng, papers, counts, readers)
    return SampleActivity(len(readers), len(votes), comments, added=True)


def _comments(
    session: Session,
    rng: random.Random,
    papers: list[Paper],
    counts: dict[int, int],
    readers: list[User],
) -> int:
    """One to three comments on each of the most voted papers, in order of time."""
    top = sorted(papers, key=lambda p: (-counts.get(p.id, 0), p.arxiv_id))[:COMMENTED_PAPERS]
    added = 0
    for paper in top:
        for reader in rng.sample(readers, rng.randint(1, 3)):
            body = rng.choice(COMMENTS)
            if "code" in body and paper.code_url:
                body = "Thanks for releasing the code; it ran out of the box for me."
            moment = datetime.combine(paper.announced_on, time(9)) + timedelta(
                minutes=rng.randint(0, 36 * 60)
            )
            session.add(
                Comment(
                    paper_id=paper.id,
                    user_id=reader.id,
                    body=body,
                    body_html=render_comment(body),
                    created_at=moment,
                )
            )
            added += 1
    return added


def remove_sample_activity(session: Session) -> SampleActivity:
    """Delete the sample accounts with their votes and comments; what was removed."""
    removed = count_sample_activity(session)
    readers = select(User.id).where(_readers_filter())
    voted = set(session.scalars(select(Vote.paper_id).where(Vote.user_id.in_(readers))))
    session.execute(delete(Vote).where(Vote.user_id.in_(readers)))
    session.execute(delete(Comment).where(Comment.user_id.in_(readers)))
    session.execute(delete(User).where(_readers_filter()))
    if voted:  # the cached counts, from the votes that are left
        left = select(func.count()).where(Vote.paper_id == Paper.id).scalar_subquery()
        session.execute(
            update(Paper)
            .where(Paper.id.in_(voted))
            .values(upvotes=left)
            .execution_options(synchronize_session=False)
        )
    return removed
