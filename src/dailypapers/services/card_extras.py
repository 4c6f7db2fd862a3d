"""What a list of cards shows beside each paper: the viewer's upvotes and "more like this" / "not
interested" marks, comment counts, submitters, what papers get beyond arXiv's metadata (thumbnail,
key phrases, TL;DR, GitHub stars), and (For you) the viewer's papers nearest to each.

Loaded for a whole page at once (one query each), never per card, so a feed page stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, User
from dailypapers.services.comments import comment_counts
from dailypapers.services.github_stars import stars_for
from dailypapers.services.signals import feedback_for
from dailypapers.services.summaries import summaries_for
from dailypapers.services.thumbnails import thumbnail_files
from dailypapers.services.votes import voted_ids


@dataclass(frozen=True, slots=True)
class PaperExtras:
    """Per paper id, for the papers that have it."""

    thumbnails: dict[int, str] = field(default_factory=dict)  # file under /thumbnails/
    summaries: dict[int, tuple[list[str], str]] = field(default_factory=dict)  # phrases, TL;DR
    stars: dict[int, tuple[int, str]] = field(default_factory=dict)  # stars, owner/repo now


@dataclass(frozen=True, slots=True)
class CardExtras:
    voted: set[int] = field(default_factory=set)  # paper ids the viewer upvoted
    comments: dict[int, int] = field(default_factory=dict)  # paper id -> visible comments
    submitted_by: dict[int, str] = field(default_factory=dict)  # paper id -> display name
    more: PaperExtras = field(default_factory=PaperExtras)
    signed_in: bool = False  # feedback buttons are shown
    feedback: dict[int, str] = field(default_factory=dict)  # paper id -> more | less
    reasons: dict[int, list[Paper]] = field(default_factory=dict)  # For you: nearest own papers
    followed: dict[int, str] = field(default_factory=dict)  # For you: paper id -> followed author


def paper_extras(session: Session, papers: Sequence[Paper]) -> PaperExtras:
    ids = [paper.id for paper in papers]
    if not ids:
        return PaperExtras()
    return PaperExtras(
        thumbnail_files(session, ids),
        summaries_for(session, ids),
        stars_for(session, {paper.id: paper.code_url for paper in papers}),
    )


def card_extras(
    session: Session,
    user: User | None,
    papers: Sequence[Paper],
    submitted_by: dict[int, str] | None = None,
) -> CardExtras:
    ids = [paper.id for paper in papers]
    if not ids:
        return CardExtras()
    voted = voted_ids(session, user, ids) if user is not None else set()
    return CardExtras(
        voted,
        comment_counts(session, ids),
        submitted_by or {},
        paper_extras(session, papers),
        signed_in=user is not None,
        feedback=feedback_for(session, user, ids),
    )
