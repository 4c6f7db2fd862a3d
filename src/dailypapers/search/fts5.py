"""Keyword queries on SQLite: the FTS5 table ``papers_fts`` (Porter stemming, diacritics folded),
ranked by BM25 with column weights. The plan's words are put in double quotes, so FTS5 reads each
as a plain string whatever it spells (``NEAR``, ``AND``, ``*``...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, text

from dailypapers.search.fts_query import Match, Phrase

# bm25 column weights: title, abstract, authors (the table's column order)
WEIGHTS = (8.0, 1.0, 3.0)


def _quoted(words: Sequence[str]) -> str:
    return '"' + " ".join(words) + '"'


def phrase_syntax(phrase: Phrase) -> str:
    """A phrase as FTS5 syntax: ``"a b"``, or ``NEAR("a" "b c", n)`` with n the words left out."""
    if len(phrase.groups) == 1:
        return _quoted(phrase.groups[0])
    groups = " ".join(_quoted(group) for group in phrase.groups)
    return f"NEAR({groups}, {sum(phrase.gaps)})"


def match_syntax(match: Match | Phrase) -> str:
    """A plan as an FTS5 MATCH expression."""
    if isinstance(match, Phrase):
        return phrase_syntax(match)
    parts = [match_syntax(part) for part in match.parts]
    inner = f" {match.op.upper()} ".join(
        f"({part})" if isinstance(sub, Match) else part
        for part, sub in zip(parts, match.parts, strict=True)
    )
    return f"{{{match.column}}} : ({inner})" if match.column else inner


class Fts5Keywords:
    """:class:`~dailypapers.search.fts_query.KeywordEngine` over FTS5."""

    @contextmanager
    def reading(self, conn: Connection) -> Iterator[int]:
        yield self.newest(conn)  # FTS5's queries read its index: nothing to choose

    def newest(self, conn: Connection) -> int:
        """The highest rowid of the keyword index: about the number of papers in it."""
        return int(conn.execute(text("SELECT max(rowid) FROM papers_fts_docsize")).scalar() or 0)

    def count(self, conn: Connection, phrase: Phrase, after: int) -> int | None:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :t AND rowid > :after"
                ),
                {"t": phrase_syntax(phrase), "after": after},
            ).scalar_one()
        )

    def counts(self, conn: Connection, phrases: Sequence[Phrase], after: int) -> list[int | None]:
        return [self.count(conn, phrase, after) for phrase in phrases]  # (no round trips)

    def ranked(
        self,
        conn: Connection,
        match: Match,
        where: list[str],
        params: dict[str, object],
        depth: int,
        scan: int,
        likely_after: int | None = None,  # (FTS5 walks its lists newest first: no use for it)
    ) -> list[int]:
        params = {**params, "match": match_syntax(match), "depth": depth, "scan": scan}
        body = (
            "FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
            f"WHERE papers_fts MATCH :match AND {' AND '.join(where)}"
        )
        # Walking the matches newest first is cheap (no scoring, no filter); the one ``scan``
        # down is the oldest that is ranked. None: fewer match, all are ranked.
        floor = conn.execute(
            text(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match "
                "ORDER BY rowid DESC LIMIT 1 OFFSET :scan"
            ),
            params,
        ).scalar()
        if floor is not None:
            body += " AND papers_fts.rowid >= :floor"
            params["floor"] = floor
        weights = ", ".join(str(w) for w in WEIGHTS)
        rows = conn.execute(
            text(f"SELECT p.id {body} ORDER BY bm25(papers_fts, {weights}) LIMIT :depth"), params
        ).all()
        return [int(r[0]) for r in rows]

    def recent(
        self, conn: Connection, match: Match, after: int, scan: int, likely_after: int | None = None
    ) -> list[int]:
        return [
            int(i)
            for i in conn.execute(
                text(
                    "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match AND rowid > :after "
                    "ORDER BY rowid DESC LIMIT :scan"
                ),
                {"match": match_syntax(match), "after": after, "scan": scan},
            ).scalars()
        ]

    def in_title(self, conn: Connection, match: Match, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        return {
            int(i)
            for i in conn.execute(
                text(
                    "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :title "
                    "AND rowid >= :low AND rowid <= :high"
                ),
                {
                    "title": f"{{title}} : ({match_syntax(match)})",
                    "low": min(ids),
                    "high": max(ids),
                },
            ).scalars()
        }
