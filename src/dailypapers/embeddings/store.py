"""Vectors in the database: one per paper and model, written in batches (stored as the backend's
:func:`~dailypapers.db.vector_store.vector_store` keeps them: float32 blobs on SQLite, pgvector
``halfvec`` on PostgreSQL).

:func:`embed_pending` embeds every live paper that has no vector under the embedder's model (or whose
title / abstract changed since), newest first, committing each chunk: an interrupted run resumes
where it stopped. Each write gets a new row id, the watermark vector indexes catch up from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, delete, func, select, update
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, PaperEmbedding
from dailypapers.db.vector_store import vector_store
from dailypapers.embeddings.encoder import Embedder, Vectors
from dailypapers.embeddings.text import paper_text, text_digest
from dailypapers.faults import crash_point

CHUNK = 512  # papers read, embedded and committed together


@dataclass
class EmbedCounts:
    embedded: int = 0
    unchanged: int = 0  # newer paper row, same text: vector kept

    def line(self) -> str:
        return f"{self.embedded} embedded, {self.unchanged} unchanged"


def _pending_query(model: str, before: int | None, limit: int):  # type: ignore[no-untyped-def]
    e = PaperEmbedding
    query = (
        select(Paper.id, Paper.title, Paper.abstract, e.text_digest)
        .outerjoin(e, (e.paper_id == Paper.id) & (e.model == model))
        .where(Paper.deleted_at.is_(None))
        .where(e.id.is_(None) | (e.created_at < Paper.modified_at))
        .order_by(Paper.id.desc())
        .limit(limit)
    )
    return query if before is None else query.where(Paper.id < before)


def count_pending(engine: Engine, model: str) -> int:
    """Live papers that have no vector under ``model`` or changed since they got one (an upper bound)."""
    inner = _pending_query(model, None, 2**62).subquery()
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(inner)) or 0)


def save_vectors(
    conn: Connection,
    model: str,
    paper_ids: Sequence[int],
    vectors: Vectors,
    digests: Sequence[bytes],
) -> None:
    """Store (or replace) vectors; each gets a fresh row id so indexes see the change."""
    if not paper_ids:
        return
    e = PaperEmbedding
    conn.execute(delete(e).where(e.model == model, e.paper_id.in_(paper_ids)))
    now = conn.execute(select(func.current_timestamp())).scalar_one()
    vector_store(conn).write(conn, model, paper_ids, vectors, digests, now)


def embed_pending(
    engine: Engine,
    embedder: Embedder,
    *,
    batch_size: int = 64,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> EmbedCounts:
    """Embed live papers lacking a current vector under ``embedder.model_name``, newest first."""
    counts = EmbedCounts()
    before: int | None = None
    while limit is None or counts.embedded < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - counts.embedded)
        with engine.connect() as conn:
            rows = conn.execute(_pending_query(embedder.model_name, before, size)).all()
        if not rows:
            break
        before = rows[-1].id
        _embed_chunk(engine, embedder, rows, counts, batch_size, progress)
    return counts


def _embed_chunk(  # type: ignore[no-untyped-def]
    engine: Engine, embedder: Embedder, rows, counts: EmbedCounts, batch_size: int, progress
) -> None:
    texts = {row.id: paper_text(row.title, row.abstract) for row in rows}
    digests = {pid: text_digest(text) for pid, text in texts.items()}
    same = [row.id for row in rows if row.text_digest == digests[row.id]]
    todo = [row.id for row in rows if row.text_digest != digests[row.id]]
    vectors = embedder.encode(
        [texts[pid] for pid in todo], batch_size=batch_size, progress=progress
    )
    crash_point("embedding-batch")  # the tests' kill -9 with a batch computed, not committed
    with engine.begin() as conn:  # per chunk: an embed run stopped anywhere keeps what it did
        save_vectors(conn, embedder.model_name, todo, vectors, [digests[pid] for pid in todo])
        if same:
            e = PaperEmbedding
            conn.execute(
                update(e)
                .where(e.model == embedder.model_name, e.paper_id.in_(same))
                .values(created_at=func.current_timestamp())
            )
    counts.embedded += len(todo)
    counts.unchanged += len(same)
    if progress is not None and same:
        progress(len(same))


def vectors_of(
    conn: Connection | Session, model: str, paper_ids: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """(paper ids, vectors) of those of ``paper_ids`` that have a vector under ``model`` and are
    not deleted, in id order; a (0, 0) matrix when none has one. Portable SQL, chunked."""
    unique = sorted(set(paper_ids))
    ids: list[int] = []
    for start in range(0, len(unique), 900):
        part = unique[start : start + 900]
        ids.extend(_live_ids(conn, model, PaperEmbedding.paper_id.in_(part)))
    return _matrix(conn, model, ids)


def vectors_where(
    conn: Connection | Session, model: str, *where: ColumnElement[bool]
) -> tuple[np.ndarray, np.ndarray]:
    """(paper ids, vectors) under ``model`` of the live papers matching ``where`` (clauses on
    ``Paper``), in id order: the candidates of a ranking."""
    return _matrix(conn, model, _live_ids(conn, model, *where))


def _live_ids(conn: Connection | Session, model: str, *where: ColumnElement[bool]) -> list[int]:
    e = PaperEmbedding
    return list(
        conn.execute(
            select(e.paper_id)
            .join(Paper, Paper.id == e.paper_id)
            .where(e.model == model, Paper.deleted_at.is_(None), *where)
            .order_by(e.paper_id)
        ).scalars()
    )


def _matrix(
    conn: Connection | Session, model: str, ids: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of ``ids`` read through the backend's store (blobs or pgvector)."""
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    bind = conn.connection() if isinstance(conn, Session) else conn
    found = vector_store(bind).read_of(bind, model, ids)
    dims = [len(found[i]) for i in ids if i in found]
    if not dims:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    dim = max(set(dims), key=dims.count)
    keep = [i for i in ids if i in found and len(found[i]) == dim]  # a damaged row: left out
    if not keep:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    matrix = np.stack([found[i] for i in keep]).astype(np.float32)
    return np.asarray(keep, dtype=np.int64), matrix
