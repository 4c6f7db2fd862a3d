"""An author's page: their papers newest first, their co-authors and categories.

``/authors/{name}`` takes a name as any paper writes it; it is matched through the author index
(:mod:`dailypapers.search.authors`: accents, case, punctuation and word order do not matter, an
initial stands for a first name), so the URL of a name is stable whatever spelling links to it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from dailypapers.db.author_index import MAX_NAME_LENGTH, name_tokens
from dailypapers.db.models import Paper, User
from dailypapers.search.authors import author_paper_ids, name_matches
from dailypapers.services.claims import author_claimants

MAX_COAUTHORS = 20


@dataclass(frozen=True, slots=True)
class AuthorPage:
    name: str  # the spelling most of their papers use
    papers: list[Paper]  # this page of them, newest first
    total: int
    coauthors: list[tuple[str, int]] = field(default_factory=list)  # (name, shared papers)
    categories: list[tuple[str, int]] = field(default_factory=list)  # (category, papers)
    claimants: list[User] = field(default_factory=list)  # approved claims: their profiles


def author_page(session: Session, name: str, *, limit: int = 30, offset: int = 0) -> AuthorPage:
    """The papers of the author ``name`` names (empty when none or not a name), a page of them."""
    name = name.strip()[:MAX_NAME_LENGTH]
    tokens = tuple(name_tokens(name))
    ids = author_paper_ids(session.connection(), tokens)
    if not ids:
        return AuthorPage(name, [], 0)
    papers = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    ordered = [papers[i] for i in ids if i in papers]
    spellings: Counter[str] = Counter()
    coauthors: Counter[str] = Counter()
    shown: dict[str, str] = {}  # a co-author's key -> the first spelling seen
    categories: Counter[str] = Counter()
    for paper in ordered:
        categories.update(paper.category_list)
        for author in paper.authors:
            author_tokens = name_tokens(str(author))
            if name_matches(tokens, author_tokens):
                spellings[str(author)] += 1
            elif author_tokens:
                key = " ".join(author_tokens)
                shown.setdefault(key, str(author))
                coauthors[key] += 1
    return AuthorPage(
        spellings.most_common(1)[0][0] if spellings else name,
        ordered[offset : offset + limit],
        len(ordered),
        [(shown[key], n) for key, n in coauthors.most_common(MAX_COAUTHORS)],
        categories.most_common(),
        author_claimants(session, ids, tokens),
    )
