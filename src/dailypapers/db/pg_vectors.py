"""PostgreSQL's vector store (:class:`HalfvecVectors`, chosen by
:func:`dailypapers.db.vector_store.vector_store`): pgvector ``halfvec`` values in
``paper_embeddings.embedding``, searched in SQL through an HNSW index per model (cosine
distance), exactly among a narrow filter's papers, or through the sign-bit codes of a category
or of a range of announce days (migrations 0017 and 0018).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Row, String, text

from dailypapers.db.engine import PG_HNSW_SETTINGS, advisory_key
from dailypapers.db.vector_store import Ids, Matrix, VectorRow, _StoredVectors

# HNSW search: candidates kept while searching, and the index entries an iterative scan reads at
# most; set on every connection (``db/engine.py: PG_HNSW_SETTINGS``).
EF_SEARCH = int(PG_HNSW_SETTINGS["hnsw.ef_search"])
MAX_SCAN_TUPLES = int(PG_HNSW_SETTINGS["hnsw.max_scan_tuples"])
# A search through sign-bit codes (a category's or a range of days') re-ranks this many papers by
# their vectors (recall@10 at 2.5 M papers: 1,000 0.90-0.97, 2,000 0.96-1.0, 4,000 0.99-1.0).
CODES_CANDIDATES = 4000


def _halfvec_text(vector: npt.NDArray[np.floating]) -> str:
    """pgvector's text form, ``[0.125,-0.5,...]`` (half precision keeps ~3 significant digits)."""
    return "[" + ",".join(f"{x:.5g}" for x in vector.tolist()) + "]"


def _vector_text(vector: npt.NDArray[np.floating]) -> str:
    """pgvector's text form of a float32 vector, every digit kept (9 significant digits give
    the same float32 back)."""
    values = np.asarray(vector, np.float32).tolist()
    return "[" + ",".join(f"{x:.9g}" for x in values) + "]"


def _from_halfvec_send(data: bytes) -> Matrix:
    """A vector from ``halfvec_send`` (int16 dimension, int16 unused, big-endian float16s)."""
    return np.frombuffer(data, ">f2", offset=4).astype(np.float32)


def hnsw_index_name(model: str, dim: int) -> str:
    return f"ix_paper_embeddings_hnsw_{hashlib.sha256(model.encode()).hexdigest()[:12]}_{dim}"


class HalfvecVectors(_StoredVectors):
    """PostgreSQL: pgvector ``halfvec`` values, searched in SQL (HNSW, cosine)."""

    searches_in_sql = True
    _DATA = "halfvec_send(embedding)"

    @staticmethod
    def _decode_one(data: bytes) -> Matrix:
        return _from_halfvec_send(data)

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
        self.ensure_index(conn, model, dim)
        conn.execute(
            text(
                "INSERT INTO paper_embeddings (paper_id, model, dim, embedding, text_digest, "
                "created_at) VALUES (:paper_id, :model, :dim, CAST(:embedding AS halfvec), "
                ":text_digest, :created_at)"
            ),
            [
                {
                    "paper_id": int(pid),
                    "model": model,
                    "dim": dim,
                    "embedding": _halfvec_text(vector),
                    "text_digest": digest,
                    "created_at": now,
                }
                for pid, vector, digest in zip(paper_ids, vectors, digests, strict=True)
            ],
        )

    def import_rows(self, conn: Connection, rows: Sequence[VectorRow]) -> None:
        if not rows:
            return
        conn.execute(  # one statement: each column travels as one array
            text(
                "INSERT INTO paper_embeddings (id, paper_id, model, dim, embedding, text_digest, "
                "created_at) SELECT u.id, u.paper_id, u.model, u.dim, CAST(u.embedding AS halfvec), "
                "u.text_digest, u.created_at FROM unnest(CAST(:id AS integer[]), "
                "CAST(:paper_id AS integer[]), CAST(:model AS text[]), CAST(:dim AS integer[]), "
                "CAST(:embedding AS text[]), CAST(:text_digest AS bytea[]), "
                "CAST(:created_at AS timestamp[])) "
                "AS u(id, paper_id, model, dim, embedding, text_digest, created_at)"
            ),
            {
                "id": [r.id for r in rows],
                "paper_id": [r.paper_id for r in rows],
                "model": [r.model for r in rows],
                "dim": [r.dim for r in rows],
                "embedding": [_halfvec_text(r.vector) for r in rows],
                "text_digest": [r.text_digest for r in rows],
                "created_at": [r.created_at for r in rows],
            },
        )

    def ensure_indexes(self, conn: Connection) -> None:
        """The HNSW index of every model present (built once over all its rows: faster than
        growing it row by row during the copy)."""
        pairs = conn.execute(text("SELECT DISTINCT model, dim FROM paper_embeddings")).all()
        for model, dim in pairs:
            self.ensure_index(conn, str(model), int(dim))

    def ensure_index(self, conn: Connection, model: str, dim: int) -> None:
        """Create the model's HNSW index unless it exists (one creator at a time: an advisory
        lock, held until the caller's transaction ends)."""
        name = hnsw_index_name(model, dim)
        if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
            return
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(name)})
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON paper_embeddings "
                f"USING hnsw ((embedding::halfvec({int(dim)})) halfvec_cosine_ops) "
                f"WHERE model = {_literal(conn, model)}"
            )
        )

    def nearest(
        self,
        conn: Connection,
        model: str,
        dim: int,
        query: Matrix,
        where: list[str],
        params: dict[str, object],
        k: int,
        *,
        exact: bool,
        among: str | None = None,
        codes: Codes | None = None,
    ) -> tuple[Ids, npt.NDArray[np.float32]]:
        """The ``k`` papers nearest ``query`` (ids, similarities), best first, among those
        passing ``where`` (conditions on papers as ``p``). ``exact``: compare with every vector
        that passes (a narrow filter); otherwise walk the model's HNSW index, iteratively, until
        ``k`` rows pass the filter or MAX_SCAN_TUPLES were read.

        ``codes`` (a category, or a range of days, whose papers are the only ones ``where`` can
        pass): their sign-bit codes first (migrations 0017 and 0018), the CODES_CANDIDATES
        nearest by Hamming distance, then those of them that pass ``where`` re-ranked by their
        vectors. Approximate: at 2.5 M papers (30 user queries each in cs.CR, stat.ML, eess.IV
        and cs.RO) recall@10 against the exact query 0.96-1.0 (@100 0.93-0.98), p50 110-137 ms,
        where the iterative scan took up to 1.8 s and had recall@10 0.44-0.61.

        ``among`` (with ``exact``): a SELECT of the passing papers' ids (the same papers as
        ``where``, which it then replaces), read first: their vectors are then fetched by the
        (paper, model) index in id order. Joining instead read every vector of the model (a hash
        join: 45-55 ms for a year's 6.7 k papers of 100 k, 12-18 ms this way).

        A similarity is the stored vector (as float32) times ``query``, as an index in the
        process computes it (:func:`dailypapers.search.dense.above_floor`), so a caller can
        apply a floor without reading the vectors again; the order is the halfvec cosine's.
        (Computed after the search, on its ``k`` rows: a wider row in the search itself could
        change the planner's choice between the HNSW index and a sort of a small table.)"""
        model_sql = _literal(conn, model)  # a literal, so the planner sees the partial index
        if exact or codes is not None:
            distance = "e.embedding <=> CAST(:q AS halfvec)"  # no index has this expression
        else:
            if k > EF_SEARCH:  # a deeper page: more candidates (the connection has the rest)
                conn.execute(
                    text("SELECT set_config('hnsw.ef_search', :ef, true)"),
                    {"ef": str(min(1000, k))},
                )
            distance = f"e.embedding::halfvec({int(dim)}) <=> CAST(:q AS halfvec({int(dim)}))"
        if codes is not None:
            nearest_codes, codes_params = codes.sql(model)
            source = (
                f"{nearest_codes} JOIN paper_embeddings e ON e.paper_id = c.paper_id "
                f"AND e.model = {model_sql} JOIN papers p ON p.id = e.paper_id "
                f"WHERE {' AND '.join(where) or 'true'}"
            )
            params = {**params, **codes_params}
        elif exact and among is not None:
            source = f"paper_embeddings e WHERE e.model = {model_sql} AND e.paper_id = ANY(ARRAY({among}))"
        else:
            conditions = " AND ".join([f"e.model = {model_sql}", *where])
            source = f"paper_embeddings e JOIN papers p ON p.id = e.paper_id WHERE {conditions}"
        with _index_only(conn, codes is not None):
            rows = self._nearest_rows(conn, model_sql, distance, source, params, query, k)
        ids = np.fromiter((r.paper_id for r in rows), np.int64, len(rows))
        scores = np.fromiter((float(r.score) for r in rows), np.float32, len(rows))
        return ids, scores

    @staticmethod
    def _nearest_rows(
        conn: Connection,
        model_sql: str,
        distance: str,
        source: str,
        params: dict[str, object],
        query: Matrix,
        k: int,
    ) -> Sequence[Row[Any]]:
        return conn.execute(
            text(
                "WITH nearest AS MATERIALIZED ("
                f"SELECT e.paper_id, {distance} AS distance FROM {source} "
                "ORDER BY distance LIMIT :k"
                ") SELECT n.paper_id, -(v.embedding::vector <#> CAST(:qf AS vector)) AS score "
                f"FROM nearest n JOIN paper_embeddings v ON v.paper_id = n.paper_id "
                f"AND v.model = {model_sql} ORDER BY n.distance, n.paper_id"
            ),
            {**params, "q": _halfvec_text(query), "qf": _vector_text(query), "k": k},
        ).all()


@dataclass(frozen=True)
class Codes:
    """Whose sign-bit codes a search reads first: a category's (migration 0017) or those of a
    range of announce days (0018; either end open)."""

    category: str | None = None
    since: date | None = None
    until: date | None = None

    def sql(self, model: str) -> tuple[str, dict[str, object]]:
        """The CODES_CANDIDATES papers nearest the query (``:q``) by Hamming distance, as ``c``,
        and the parameters."""
        params: dict[str, object] = {"codes_model": model, "codes_k": CODES_CANDIDATES}
        if self.category is not None:
            table, where = "paper_category_codes", ["category = :codes_category"]
            params["codes_category"] = self.category
        else:
            table, where = "paper_day_codes", []
            if self.since is not None:
                where.append("announced_on >= :codes_since")
                params["codes_since"] = self.since
            if self.until is not None:
                where.append("announced_on <= :codes_until")
                params["codes_until"] = self.until
        conditions = " AND ".join([*where, "model_key = hashtext(:codes_model)"])
        return (
            f"(SELECT paper_id FROM {table} WHERE {conditions} "
            "ORDER BY code <~> binary_quantize(CAST(:q AS halfvec)) LIMIT :codes_k) c"
        ), params


@contextmanager
def _index_only(conn: Connection, codes: bool) -> Iterator[None]:
    """For a search through the codes: no bitmap or sequential scans for its statement, so the
    codes come from an index-only scan of their primary key (the planner preferred a bitmap of it
    and a visit to every row's page, or a scan of the whole table: 150 and 560 against 70 ms for
    stat.ML's 142 k rows at 2.5 M papers). The settings are the transaction's, restored after (a
    keyword search's GIN index is read by bitmap scans)."""
    if not codes:
        yield
        return
    before = conn.execute(
        text(
            "SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan'), "
            "set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)"
        )
    ).one()
    yield
    conn.execute(
        text(
            "SELECT set_config('enable_bitmapscan', :b, true), set_config('enable_seqscan', :s, true)"
        ),
        {"b": before[0], "s": before[1]},
    )


def _literal(conn: Connection, value: str) -> str:
    """``value`` as an SQL string literal, quoted by the dialect."""
    render = String().literal_processor(conn.dialect)  # type: ignore[no-untyped-call]
    assert render is not None
    return str(render(value))


HALFVEC = HalfvecVectors()
