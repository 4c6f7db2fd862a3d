"""The trending score: upvotes decayed by age, in the spirit of Hacker News' ranking.

    score = upvotes / (age_days + 2) ** GRAVITY

``age_days`` counts whole days from the paper's announce date to the reference day (the newest
announce day, so a feed that stopped updating still ranks sensibly). The +2 keeps brand-new papers
from dividing by ~0; GRAVITY = 1.5 halves a paper's weight in about two days when it is new and
lets a strongly upvoted paper stay up for a week. Ties (e.g. no votes yet) go to the newer paper.
This is the only place the formula is written.

With ``DAILYPAPERS_TRENDING_STARS=true`` the GitHub stars of a paper's code count as extra
upvotes, on a log scale so a famous repository cannot drown the community's votes:

    score = (upvotes + log2(1 + stars)) / (age_days + 2) ** GRAVITY

(1 star adds 1, 7 stars 3, 1,023 stars 10.)
"""

from __future__ import annotations

import math
from datetime import date

GRAVITY = 1.5
WINDOW_DAYS = 7  # the Trending page ranks papers announced in the last week


def star_votes(stars: int) -> float:
    """What a repository's stars add to the upvotes: ``log2(1 + stars)``."""
    return math.log2(1 + max(stars, 0))


def trending_score(upvotes: int, announced_on: date, reference: date, stars: int = 0) -> float:
    """Score of a paper with ``upvotes`` (and ``stars`` when they count) announced on
    ``announced_on``, seen from ``reference``."""
    age_days = max((reference - announced_on).days, 0)
    return float((upvotes + star_votes(stars)) / (age_days + 2) ** GRAVITY)


def trending_key(
    upvotes: int, announced_on: date, arxiv_id: str, reference: date, stars: int = 0
) -> tuple[float, date, str]:
    """Sort key, highest first: score, then newer announce date, then newer arXiv id."""
    return (trending_score(upvotes, announced_on, reference, stars), announced_on, arxiv_id)
