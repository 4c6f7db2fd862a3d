"""The author index (``paper_authors``): each paper's authors under normalised name keys.

A name is normalised to its tokens (:func:`name_tokens`): accents folded (``Ö`` → ``o``, ``ł`` →
``l``), lower case, apostrophes dropped (``O'Neil`` → ``oneil``), any other punctuation a
separator (``Jean-Pierre`` → ``jean pierre``, ``T.`` → ``t``); letters of other scripts are kept
as they are (``张伟``). Each author row has two keys: ``name_key``, the tokens in order, and
``short_key``, the last token and the first letter of the first (``zhou t``), which lookups use:
``Tianyi Zhou``, ``T. Zhou`` and ``Zhou, Tianyi`` all name a short key that the index holds.

Like the keyword index it is derived data kept in step by :mod:`dailypapers.upsert`: changed
papers are re-indexed in the writing transaction (:func:`reindex`), new ones by
:func:`index_after` or, after a bulk import or a crash, by :func:`catch_up` (run by every import
and on start-up). Every paper up to the watermark (the highest ``paper_id`` in the table) is
indexed; papers above it, or without authors, are (re)read by the next catch-up.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)

from dailypapers.db import bulk
from dailypapers.db.models import PaperAuthor

CATCH_UP_CHUNK = 20_000
MAX_NAME_LENGTH = 300
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")
# letters NFKD does not split into a base letter and a mark
_FOLDS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})
_TABLE = cast(Table, PaperAuthor.__table__)


def name_tokens(name: str) -> list[str]:
    """A name's normalised tokens (see the module docstring); ``[]`` when it has no letters."""
    folded = unicodedata.normalize("NFKD", name[:MAX_NAME_LENGTH].lower().translate(_FOLDS))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).translate(_APOSTROPHES)
    return _TOKEN.findall(plain)


def short_key(tokens: Sequence[str]) -> str:
    """The lookup key of a name's tokens: last token, a space, the first token's first letter."""
    return f"{tokens[-1][:70]} {tokens[0][0]}" if tokens else ""


def author_rows(paper_id: int, authors: Iterable[str]) -> list[dict[str, Any]]:
    """The index rows of one paper's author list (names without letters are skipped)."""
    rows = []
    for position, name in enumerate(authors):
        tokens = name_tokens(str(name))
        if tokens:
            rows.append(
                {
                    "paper_id": paper_id,
                    "position": position,
                    "short_key": short_key(tokens),
                    "name_key": " ".join(tokens)[:MAX_NAME_LENGTH],
                }
            )
    return rows


def _authors(value: object) -> list[str]:
    """A stored ``papers.authors`` value (a list, or its JSON text on some paths) as a list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(a) for a in value] if isinstance(value, list) else []


def _insert_for(conn: Connection, where: str, params: dict[str, Any]) -> int:
    """Index the papers selected by ``where`` (SQL on ``papers``); return how many were read."""
    papers = conn.execute(text(f"SELECT id, authors FROM papers WHERE {where}"), params).all()
    rows = [row for paper_id, authors in papers for row in author_rows(paper_id, _authors(authors))]
    if rows:
        conn.execute(insert(_TABLE), rows)
    return len(papers)


def index_new(conn: Connection, papers: Iterable[tuple[int, str]]) -> None:
    """Index new papers given as ``(paper id, authors as JSON text)`` (a first import's batch on
    PostgreSQL, :mod:`dailypapers.upsert`: each column one array, one statement)."""
    rows = [row for paper_id, authors in papers for row in author_rows(paper_id, _authors(authors))]
    columns = ("paper_id", "position", "short_key", "name_key")
    bulk.insert_flat(conn, _TABLE, columns, [tuple(row[c] for c in columns) for row in rows])


def reindex(conn: Connection, paper_ids: Sequence[int]) -> None:
    """Replace these papers' rows with their current authors (in the caller's transaction)."""
    if not paper_ids:
        return
    ids = list(paper_ids)
    conn.execute(delete(_TABLE).where(_TABLE.c.paper_id.in_(ids)))
    papers = conn.execute(
        text("SELECT id, authors FROM papers WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": ids},
    ).all()
    rows = [row for paper_id, authors in papers for row in author_rows(paper_id, _authors(authors))]
    if rows:
        conn.execute(insert(_TABLE), rows)


def indexed_upto(conn: Connection) -> int:
    """The watermark: the highest paper id in the author index (0 when empty)."""
    return int(conn.execute(select(func.max(_TABLE.c.paper_id))).scalar() or 0)


def index_after(conn: Connection, after: int, limit: int | None = None) -> int | None:
    """Index the papers with ``id > after`` (the lowest ``limit`` of them); return the highest
    id read, or None when there was none. Rows those papers already have are replaced."""
    last = conn.execute(
        text(
            "SELECT max(id) FROM (SELECT id FROM papers WHERE id > :after ORDER BY id LIMIT :n) t"
        ),
        {"after": after, "n": limit if limit is not None else 2**62},
    ).scalar()
    if last is None:
        return None
    conn.execute(delete(_TABLE).where(_TABLE.c.paper_id > after, _TABLE.c.paper_id <= int(last)))
    _insert_for(conn, "id > :after AND id <= :last", {"after": after, "last": int(last)})
    return int(last)


def catch_up(engine: Engine, *, chunk: int = CATCH_UP_CHUNK) -> int:
    """Index every paper above the watermark, ``chunk`` papers per transaction; return the number
    of chunks written. Safe at any time; a crash part-way keeps what was committed."""
    chunks = 0
    with engine.connect() as conn:
        with conn.begin():
            position = indexed_upto(conn)
        while True:
            with conn.begin():
                last = index_after(conn, position, chunk)
            if last is None:
                return chunks
            chunks += 1
            position = last
