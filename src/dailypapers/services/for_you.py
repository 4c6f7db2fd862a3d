""" "For you" as pages, the API and digests show it: the papers of the authors the user follows
first ("Papers by X", reason "You follow X"), then the user's model's ranking of the rest
(:func:`dailypapers.services.recommend.recommend`, called as it is).

The followed authors' papers are left out of the model's candidates (one more ``NOT IN`` clause),
so no paper shows twice and the pages of both parts join without a gap.

Round trips (each ~0.3-1 ms on PostgreSQL): the user's signals and whether they follow anyone in
one statement, and the followed authors' papers read with the page's, so a warm page is 4
statements — signals, model, the caches' marks, papers (8 before) — and 7 for a user who follows
someone (their follows and those authors' papers; 11 before). ``tests/test_for_you_trips.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, User
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.services.follows import FollowedPapers, followed_papers
from dailypapers.services.recommend import State, recommend
from dailypapers.services.signals import training_signals


@dataclass(frozen=True, slots=True)
class ForYouList:
    """One page of a user's For-you list (the fields of ``recommend``'s answer, plus follows)."""

    papers: list[Paper]
    total: int
    state: State
    positives: int
    reasons: dict[int, list[Paper]] = field(default_factory=dict)  # paper id -> own papers
    all_seen: bool = False
    stale: bool = False
    followed: dict[int, str] = field(default_factory=dict)  # paper id -> followed author
    terms: dict[int, list[str]] = field(default_factory=dict)  # paper id -> words that weighed

    @property
    def followed_names(self) -> list[str]:
        """The followed authors with papers on this page, in order."""
        return list(
            dict.fromkeys(self.followed[p.id] for p in self.papers if p.id in self.followed)
        )


def for_you(
    session: Session,
    user: User,
    where: list[ColumnElement[bool]],
    *,
    limit: int = 30,
    offset: int = 0,
    recent: RecentVectors | None = None,
) -> ForYouList:
    """The papers matching ``where`` for ``user``: followed authors' papers first (newest
    first), then the model's ranking (or the cold-start order) of the others."""
    # the signals and whether the user follows anyone: one statement (follows: two more)
    signals = training_signals(session, user.id, follows=True)
    followed = (
        followed_papers(session, user, where, signals.touched)
        if signals.follows
        else FollowedPapers([], {})
    )
    head = followed.ids[offset : offset + limit]
    rest_where = [*where, Paper.id.not_in(followed.ids)] if followed.ids else where
    ranked = recommend(
        session,
        user,
        rest_where,
        limit=limit - len(head),
        offset=max(offset - len(followed.ids), 0),
        recent=recent,
        signals=signals,
        also=head,  # read with the page's papers: one statement
    )
    papers = ranked.also + ranked.papers
    shown = {p.id for p in papers}
    return ForYouList(
        papers,
        len(followed.ids) + ranked.total,
        ranked.state,
        ranked.positives,
        ranked.reasons,
        ranked.all_seen and not followed.ids,
        ranked.stale,
        {pid: name for pid, name in followed.authors.items() if pid in shown},
        ranked.terms,
    )
