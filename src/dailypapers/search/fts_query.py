"""What keyword search asks of a backend: the plan (:class:`Phrase`, :class:`Match`) built from the
query's words by :mod:`dailypapers.search.fts`, and the :class:`KeywordEngine` each backend
implements (:mod:`~dailypapers.search.fts5`, :mod:`~dailypapers.search.pg_fts`).

A plan holds only words (runs of letters and digits, as :func:`dailypapers.search.fts._terms` cut
them), never the user's text: each engine quotes them or binds them as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import Connection

Column = Literal["title", "authors", "abstract"]


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in order: ``groups`` of adjacent words, with ``gaps[i]`` words left out between
    group i and i + 1 (a word is one group of one word)."""

    groups: tuple[tuple[str, ...], ...]
    gaps: tuple[int, ...] = ()

    @staticmethod
    def of(*words: str) -> Phrase:
        return Phrase((tuple(words),))


@dataclass(frozen=True, slots=True)
class Match:
    """Papers holding all (``op="and"``) or any (``"or"``) of the parts, in ``column`` or any."""

    op: Literal["and", "or"]
    parts: tuple[Phrase | Match, ...]
    column: Column | None = None


class KeywordEngine(Protocol):
    """One backend's keyword queries (:func:`dailypapers.search.fts.keyword_engine` picks it)."""

    def reading(self, conn: Connection) -> AbstractContextManager[int]:
        """Where one search's keyword queries run (PostgreSQL: planner settings, for the
        connection's transaction, restored at the end); gives :meth:`newest`."""
        ...

    def newest(self, conn: Connection) -> int:
        """The highest paper id searchable: about the number of papers."""
        ...

    def count(self, conn: Connection, phrase: Phrase, after: int) -> int | None:
        """Papers with an id above ``after`` holding ``phrase``; None when the backend indexes
        none of its words (PostgreSQL's English stop words)."""
        ...

    def counts(self, conn: Connection, phrases: Sequence[Phrase], after: int) -> list[int | None]:
        """:meth:`count` of each of ``phrases`` (PostgreSQL: in one statement)."""
        ...

    def ranked(
        self,
        conn: Connection,
        match: Match,
        where: list[str],
        params: dict[str, object],
        depth: int,
        scan: int,
        likely_after: int | None = None,
    ) -> list[int]:
        """The ``depth`` best-scored matches passing ``where`` (conditions on papers as ``p``)
        among the newest ``scan`` matches, best first. ``likely_after``: an id above which more
        than ``scan`` matches are likely (a hint, never a bound: see
        :func:`dailypapers.search.fts.likely_after`)."""
        ...

    def recent(
        self, conn: Connection, match: Match, after: int, scan: int, likely_after: int | None = None
    ) -> list[int]:
        """Up to ``scan`` matches with an id above ``after``, newest first, not scored
        (``likely_after`` as for :meth:`ranked`)."""
        ...

    def in_title(self, conn: Connection, match: Match, ids: list[int]) -> set[int]:
        """Which of ``ids`` match ``match`` in their title."""
        ...
