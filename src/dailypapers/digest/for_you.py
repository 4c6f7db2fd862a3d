""" "For you" in digests: the period's top papers from the subscriber's own model, each with why.

A subscription has an account when a user has its address (both are stored lower-cased). Such a
subscriber gets a "For you" section: the papers of authors they follow first, then the top of
their model's ranking of the digest's period (``services.for_you``, the list the site shows),
each with its reason: "You follow X", or the one or two of their own papers nearest to it, and
the words their model weighed most for it ("Your model weighed most: ...", as on the site's
cards and the API's ``reason.terms``). A
cold-start user (fewer than 3 positive signals) gets only their followed authors' papers, if
any. The section is computed per subscriber in the run (one ranking each, none for subscribers
without an account), over the run's :class:`RecentVectors`: the recent papers' vectors are read
once per run, not once per subscriber.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, Subscription, User
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.services.feeds import feed_filters
from dailypapers.services.for_you import ForYouList, for_you
from dailypapers.services.periods import Period

FOR_YOU_PAPERS = 5
TITLE = "For you"


Reason = tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]


def reason_of(ranked: ForYouList, paper: Paper) -> Reason:
    """Why ``paper`` is in the section: the words, the (path, label) links that follow them, and
    the terms the user's model weighed most for it (none without tf-idf in the model)."""
    terms = tuple(ranked.terms.get(paper.id, ()))
    if paper.id in ranked.followed:
        name = ranked.followed[paper.id]
        return "You follow", ((f"/authors/{quote(name, safe='')}", name),), terms
    near = ranked.reasons.get(paper.id, [])
    if near:
        words = "Near your paper" + ("s" if len(near) > 1 else "")
        links = tuple((f"/papers/{own.arxiv_id}", " ".join(own.title.split())) for own in near)
        return words, links, terms
    return "", (), terms


class ForYouSource:
    """The "For you" papers of one period's subscribers, one ranking per subscriber."""

    def __init__(self, session: Session, period: Period, limit: int = FOR_YOU_PAPERS) -> None:
        self.session = session
        self.period = period
        self.limit = limit
        self.recent = RecentVectors()  # the run's: loaded once, for every subscriber
        self._where: list[ColumnElement[bool]] | None = None
        self._accounts: dict[str, int] | None = None  # subscribed address -> user id

    def user_of(self, sub: Subscription) -> User | None:
        """The account with the subscription's address, if any. The addresses of subscribers
        with an account are read once per run, so a subscriber without one costs no query."""
        if self._accounts is None:
            rows = self.session.execute(
                select(User.email, User.id).join(Subscription, Subscription.email == User.email)
            )
            self._accounts = {email: user_id for email, user_id in rows}
        user_id = self._accounts.get(sub.email.lower())
        return self.session.get(User, user_id) if user_id is not None else None

    def papers(
        self, sub: Subscription
    ) -> list[tuple[Paper, str, tuple[tuple[str, str], ...], tuple[str, ...]]]:
        """The subscriber's section: (paper, reason words, reason links, weighed terms); empty
        without an
        account, or for a cold-start user who follows no author with papers in the period."""
        user = self.user_of(sub)
        if user is None:
            return []
        if self._where is None:
            self._where = feed_filters(self.session, self.period)
        ranked = for_you(self.session, user, self._where, limit=self.limit, recent=self.recent)
        papers = ranked.papers
        if ranked.state != "ready":  # cold start: no model to rank by, only the follows count
            papers = [p for p in papers if p.id in ranked.followed]
        return [(paper, *reason_of(ranked, paper)) for paper in papers]
