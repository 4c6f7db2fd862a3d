"""Author search over the author index (``paper_authors``, see :mod:`dailypapers.db.author_index`).

A name matches an author when every token of the name pairs with a different token of the
author's: equal, or an initial of it (``T`` pairs with ``tianyi``, and an author listed as
``T. Zhou`` pairs with ``tianyi``), in any order; the author's tokens left over may only be
middle names or initials, never their first or last name (``D. Petrini`` finds Daniele Marco
Petrini). So ``Tianyi Zhou``, ``Zhou Tianyi``, ``T. Zhou`` and ``tianyi zhou``
all find Tianyi Zhou, and ``Tianyi Zhou`` does not find Tianyi Zhou-Li or Tao Zhou.

Lookups read the short keys the name can form (each full token as the last name with each other
token's first letter), so a name costs a few index probes at any corpus size; at most
:data:`MAX_AUTHOR_ROWS` rows are read.

A search query is an author query when it says so (``author:"Tianyi Zhou"`` or ``author:Zhou``,
where one token is enough) or when the whole query (quoted or not) is a name of 2 to 5 tokens that
the index knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, text

from dailypapers.db.author_index import MAX_NAME_LENGTH, name_tokens, short_key

MAX_AUTHOR_ROWS = 5_000
MAX_NAME_TOKENS = 6
_AUTHOR_SYNTAX = re.compile(r'\bauthor:\s*(?:"([^"]*)"?|(\S+))', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AuthorQuery:
    """A query's author part: the name as typed, its tokens, and the rest of the query."""

    name: str
    tokens: tuple[str, ...]
    rest: str  # the query without the author part (words to search among the author's papers)
    explicit: bool  # ``author:`` was typed


def parse_author_query(query: str) -> AuthorQuery | None:
    """The author part of a query: ``author:"..."`` anywhere in it, or None (see
    :func:`implicit_author`)."""
    found = _AUTHOR_SYNTAX.search(query)
    if found is None:
        return None
    name = (found.group(1) if found.group(1) is not None else found.group(2)).strip()
    rest = " ".join((query[: found.start()] + " " + query[found.end() :]).split())
    tokens = tuple(name_tokens(name[:MAX_NAME_LENGTH]))
    return AuthorQuery(name[:MAX_NAME_LENGTH], tokens, rest, explicit=True)


def implicit_author(query: str) -> AuthorQuery | None:
    """The whole query as a name (quotes stripped) when it could be one: 2 to 5 tokens, at least
    one of them more than an initial, no digits."""
    name = query.strip().strip('"').strip()
    tokens = tuple(name_tokens(name))
    if not 2 <= len(tokens) <= 5 or len(name) > 120 or any(c.isdigit() for c in name):
        return None
    if all(len(t) == 1 for t in tokens):
        return None
    return AuthorQuery(name, tokens, "", explicit=False)


def _pairs(query: str, author: str) -> bool:
    return (
        query == author
        or (len(query) == 1 and author.startswith(query))
        or (len(author) == 1 and query.startswith(author))
    )


def name_matches(tokens: tuple[str, ...], author_tokens: list[str]) -> bool:
    """Whether a name (its tokens) names this author (the module docstring's rule)."""
    if len(tokens) > len(author_tokens):
        return False
    left = list(enumerate(author_tokens))
    # full tokens first, so an initial cannot take the token a full one needs
    for token in sorted(tokens, key=lambda t: len(t) == 1):
        for i, (_, candidate) in enumerate(left):
            if _pairs(token, candidate):
                del left[i]
                break
        else:
            return False
    # what is left may be middle names or initials, never the author's first or last name
    return all(0 < position < len(author_tokens) - 1 for position, _ in left)


def _short_keys(tokens: tuple[str, ...]) -> list[str]:
    keys = {
        short_key((first, last))
        for i, last in enumerate(tokens)
        if len(last) > 1
        for j, first in enumerate(tokens)
        if i != j
    }
    return sorted(keys)


def author_paper_ids(conn: Connection, tokens: tuple[str, ...]) -> list[int]:
    """The live papers of the author these tokens name, newest first (empty when the name has
    no token longer than an initial)."""
    tokens = tokens[:MAX_NAME_TOKENS]
    if not any(len(t) > 1 for t in tokens):
        return []
    params: dict[str, object]
    if len(tokens) == 1:  # a last name alone (author:Zhou): every first letter
        where, params = "pa.short_key LIKE :prefix", {"prefix": f"{tokens[0][:70]} %"}
        statement = text(_AUTHOR_SQL.format(where=where))
    else:
        where, params = "pa.short_key IN :keys", {"keys": _short_keys(tokens)}
        statement = text(_AUTHOR_SQL.format(where=where)).bindparams(
            bindparam("keys", expanding=True)
        )
    rows = conn.execute(statement, {**params, "cap": MAX_AUTHOR_ROWS}).all()
    seen: dict[int, None] = {}
    for paper_id, name_key in rows:
        if len(tokens) == 1 or name_matches(tokens, name_key.split()):  # 1: the last name matched
            seen.setdefault(int(paper_id), None)
    return list(seen)


_AUTHOR_SQL = (
    "SELECT pa.paper_id, pa.name_key FROM paper_authors pa JOIN papers p ON p.id = pa.paper_id "
    "WHERE {where} AND p.deleted_at IS NULL ORDER BY p.announced_on DESC, p.id DESC LIMIT :cap"
)
