"""Where paper vectors live: the storage half of the vector-store seam.

``paper_embeddings`` holds one row per paper and model (a new row id at every write: the watermark
in-process indexes catch up from). How the vector itself is stored depends on the backend
(:func:`vector_store`):

- **SQLite** (:class:`BlobVectors`): a float32 little-endian blob in ``vector``; nearest-neighbour
  search runs in each process's own index (:mod:`dailypapers.vectors`).
- **PostgreSQL** (:class:`~dailypapers.db.pg_vectors.HalfvecVectors`, ``db/pg_vectors.py``): a pgvector ``halfvec`` in ``embedding`` (half the size;
  ``vector`` stays empty), searched in SQL through an HNSW index per model (cosine distance). The
  index is partial and on an expression (``embedding::halfvec(dim) ... WHERE model = '...'``: one
  column holds every model, whatever its dimension) and is created with the model's first vectors.

Each store reads and writes through the caller's connection (and transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, bindparam, insert, text

from dailypapers.db.engine import backend_of
from dailypapers.db.models import PaperEmbedding

Matrix = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]


class VectorStore(Protocol):
    """How one backend keeps vectors (see the module docstring)."""

    searches_in_sql: bool  # True: nearest neighbours come from :meth:`nearest`, not a process

    def write(
        self,
        conn: Connection,
        model: str,
        paper_ids: Sequence[int],
        vectors: Matrix,
        digests: Sequence[bytes],
        now: datetime,
    ) -> None:
        """Insert rows for these papers (the caller deleted their old rows)."""
        ...

    def read_after(
        self, conn: Connection, model: str, after: int, limit: int
    ) -> tuple[Ids, Ids, Matrix] | None:
        """(row ids, paper ids, vectors) of the first ``limit`` rows above row id ``after``."""
        ...

    def read_of(self, conn: Connection, model: str, paper_ids: Sequence[int]) -> dict[int, Matrix]:
        """The vectors these papers have under ``model``."""
        ...

    def export_rows(self, conn: Connection, after: int, limit: int) -> list[VectorRow]:
        """Whole rows (every model) above row id ``after``, in id order: what a move copies."""
        ...

    def import_rows(self, conn: Connection, rows: Sequence[VectorRow]) -> None:
        """Insert rows as they are, ids included (a move from another database)."""
        ...

    def ensure_indexes(self, conn: Connection) -> None:
        """Build what searches need for the vectors present (after a bulk :meth:`import_rows`)."""
        ...


@dataclass(frozen=True)
class VectorRow:
    """One ``paper_embeddings`` row with its vector decoded (float32), as a move copies it."""

    id: int
    paper_id: int
    model: str
    dim: int
    vector: Matrix
    text_digest: bytes
    created_at: datetime


def vector_store(bind: Engine | Connection) -> VectorStore:
    """The store of the backend ``bind`` talks to."""
    if backend_of(bind) == "postgresql":
        from dailypapers.db.pg_vectors import HALFVEC  # (it builds on this module)

        return HALFVEC
    return _BLOBS


def _chunks(values: Sequence[int], size: int = 500) -> list[list[int]]:
    return [[int(v) for v in values[i : i + size]] for i in range(0, len(values), size)]


class _StoredVectors:
    """What both stores share: reading rows back, each store naming the SQL expression that gives
    a vector's bytes (``_DATA``) and how to decode one (``_decode_one``) or a batch (``_decode``)."""

    _DATA: str

    @staticmethod
    def _decode_one(data: bytes) -> Matrix:
        raise NotImplementedError

    def _decode(self, data: Sequence[bytes]) -> Matrix:
        return np.stack([self._decode_one(d) for d in data])

    def read_after(
        self, conn: Connection, model: str, after: int, limit: int
    ) -> tuple[Ids, Ids, Matrix] | None:
        rows = conn.execute(
            text(
                f"SELECT id, paper_id, {self._DATA} AS data FROM paper_embeddings "
                "WHERE model = :m AND id > :after ORDER BY id LIMIT :n"
            ),
            {"m": model, "after": after, "n": limit},
        ).all()
        if not rows:
            return None
        return (
            np.fromiter((r.id for r in rows), np.int64, len(rows)),
            np.fromiter((r.paper_id for r in rows), np.int64, len(rows)),
            self._decode([r.data for r in rows]),
        )

    def read_of(self, conn: Connection, model: str, paper_ids: Sequence[int]) -> dict[int, Matrix]:
        found: dict[int, Matrix] = {}
        sql = text(
            f"SELECT paper_id, {self._DATA} AS data FROM paper_embeddings "
            "WHERE model = :m AND paper_id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for part in _chunks(paper_ids):
            for row in conn.execute(sql, {"m": model, "ids": part}):
                found[int(row.paper_id)] = self._decode_one(row.data)
        return found

    def export_rows(self, conn: Connection, after: int, limit: int) -> list[VectorRow]:
        rows = conn.execute(
            text(
                f"SELECT id, paper_id, model, dim, {self._DATA} AS data, text_digest, created_at "
                "FROM paper_embeddings WHERE id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": limit},
        ).all()
        return [
            VectorRow(
                id=int(r.id),
                paper_id=int(r.paper_id),
                model=str(r.model),
                dim=int(r.dim),
                vector=self._decode_one(bytes(r.data)),
                text_digest=bytes(r.text_digest),
                created_at=_as_datetime(r.created_at),
            )
            for r in rows
        ]


def _as_datetime(value: object) -> datetime:
    """A timestamp read through ``text()`` (SQLite hands back its stored text)."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class BlobVectors(_StoredVectors):
    """SQLite: float32 little-endian blobs."""

    searches_in_sql = False
    _DATA = "vector"

    @staticmethod
    def _decode_one(data: bytes) -> Matrix:
        return np.frombuffer(data, "<f4").astype(np.float32)

    def _decode(self, data: Sequence[bytes]) -> Matrix:
        # one buffer for the whole batch (every vector of a model has its dimension)
        return np.frombuffer(b"".join(data), "<f4").reshape(len(data), -1).astype(np.float32)

    def write(
        self,
        conn: Connection,
        model: str,
        paper_ids: Sequence[int],
        vectors: Matrix,
        digests: Sequence[bytes],
        now: datetime,
    ) -> None:
        dim = int(vectors.shape[1])
        rows = [
            {
                "paper_id": pid,
                "model": model,
                "dim": dim,
                "vector": np.ascontiguousarray(vector, dtype="<f4").tobytes(),
                "text_digest": digest,
                "created_at": now,
            }
            for pid, vector, digest in zip(paper_ids, vectors, digests, strict=True)
        ]
        conn.execute(insert(PaperEmbedding), rows)

    def import_rows(self, conn: Connection, rows: Sequence[VectorRow]) -> None:
        if rows:
            conn.execute(
                insert(PaperEmbedding),
                [
                    {
                        "id": r.id,
                        "paper_id": r.paper_id,
                        "model": r.model,
                        "dim": r.dim,
                        "vector": np.ascontiguousarray(r.vector, dtype="<f4").tobytes(),
                        "text_digest": r.text_digest,
                        "created_at": r.created_at,
                    }
                    for r in rows
                ],
            )

    def ensure_indexes(self, conn: Connection) -> None:
        """Nothing: each process builds its own index from the rows (``vectors/live.py``)."""


_BLOBS = BlobVectors()
