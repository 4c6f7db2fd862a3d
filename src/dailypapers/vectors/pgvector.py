"""A :class:`~dailypapers.vectors.base.VectorIndex` that is the database: PostgreSQL with pgvector.

Nothing is held in the process: every search is a query (``ORDER BY embedding <=> :q LIMIT k``
through the model's HNSW index, :meth:`HalfvecVectors.nearest
<dailypapers.db.pg_vectors.HalfvecVectors.nearest>`), so every web process on every host sees a
vector the moment its row is committed, and a deleted paper the moment it is marked. ``add`` and
``remove`` do nothing: vectors are written by :mod:`dailypapers.embeddings.store`.

Dense search under filters (:func:`dailypapers.search.dense.dense_ranking`) calls
:meth:`PgVectorIndex.search_where` with the filter's SQL, so the filter runs inside the index scan.

**Why HNSW (m 16, ef_construction 64, ef_search 100), not IVFFlat** — measured by
``benchmarks/pgvector_index.py`` on 200,000 ``halfvec`` vectors (33,441 real MiniLM vectors and
vectors drawn near them), 200 held-out real queries, recall@10 against exact float32, PostgreSQL 18.4
and pgvector 0.8.5 on the shared 2-core box at load 14-19, ``maintenance_work_mem`` 2 GB, one
maintenance worker:

- HNSW m 16, ef_construction 64: build 262 s, 223 MB; recall 0.951 at ef_search 40 (p50 9 ms),
  0.987 at 100 (p50 13 ms, p95 33 ms). ef_construction 32: build 184 s, recall 0.949 / 0.982.
- IVFFlat, 200 lists (rows / 1000): build 10 s, 157 MB; recall 0.596 / 0.913 / 0.969 / 0.990 at
  probes 1 / 5 / 10 / 20, p50 8 / 20 / 36 / 84 ms. Without an index: 195 ms.

IVFFlat builds 26x faster, but needs 10-20 probes for HNSW's recall at 3-6x its query time, and
that scan grows with the rows per list (at 2.5 M papers, 2,500 lists, the probes needed for 0.97
read several times as many vectors: past the 100 ms search budget); its lists are fixed by the
k-means of the vectors present at build, so a site that embeds as papers arrive (an index created
with the first vectors, :meth:`HalfvecVectors.ensure_index
<dailypapers.db.pg_vectors.HalfvecVectors.ensure_index>`) would have to rebuild it as it grows.
HNSW's cost is its build, ~1.3 ms a vector here: paid once per paper as it is embedded (next to the
~16 ms of embedding it), or in one go after a bulk load (``migrate-db``; give the build
``maintenance_work_mem`` above the graph's size, ~1.2 KB a vector: ~3 GB at 2.5 M, and
``max_parallel_maintenance_workers``). pgvector's defaults (m 16, ef_construction 64) are kept:
ef_construction 32 saves 30 % of the build for a little recall; ef_search 100
(``EF_SEARCH``) turns 0.95 into 0.99 for a few ms.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, text

from dailypapers.db.pg_vectors import Codes, HalfvecVectors
from dailypapers.recount import Recount
from dailypapers.vectors.base import Ids, Matrix, Scores, as_ids

COUNT_TTL_S = 60.0  # how long a count of the model's vectors is trusted (only "none yet?" needs it)


class VectorCount:
    """A model's number of vectors, recounted every COUNT_TTL_S seconds (every call while it is
    zero, so the first vectors are seen at once): ``len`` of the index. Once there are vectors, a
    recount runs on a thread of its own and calls meanwhile take the last count
    (:class:`~dailypapers.recount.Recount`): it reads every row of the model (290 ms at 2.5 M
    papers), which had been one request's wait a minute."""

    def __init__(self) -> None:
        self._counts = Recount("count-vectors")

    def get(self, engine: Engine, model: str) -> int:
        last = self._counts.last
        none_yet = last is None or last[1] == 0
        return self._counts.get(
            lambda: self._read(engine, model), 0.0 if none_yet else COUNT_TTL_S, inline=none_yet
        )

    @staticmethod
    def _read(engine: Engine, model: str) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM paper_embeddings WHERE model = :m"), {"m": model}
                ).scalar_one()
            )


class PgVectorIndex:
    """The stored vectors of one model, searched in SQL (see the module docstring)."""

    kind = "pgvector"

    def __init__(self, engine: Engine, model_name: str, dim: int, count: VectorCount) -> None:
        self.engine = engine
        self.model_name = model_name
        self.dim = dim
        self._count = count
        self._store = HalfvecVectors()

    def search_where(
        self,
        conn: Connection,
        query: npt.NDArray[np.float32],
        where: list[str],
        params: dict[str, object],
        k: int,
        *,
        exact: bool = False,
        among: str | None = None,
        codes: Codes | None = None,
    ) -> tuple[Ids, Scores]:
        """The ``k`` nearest papers passing ``where`` (SQL conditions on papers as ``p``), and
        their similarities (:meth:`HalfvecVectors.nearest
        <dailypapers.db.pg_vectors.HalfvecVectors.nearest>`; ``among``: the passing ids as a
        SELECT, for an exact search; ``codes``: a category or a range of days ``where`` requires,
        whose papers' sign-bit codes pick the candidates)."""
        return self._store.nearest(
            conn,
            self.model_name,
            self.dim,
            query,
            where,
            params,
            k,
            exact=exact,
            among=among,
            codes=codes,
        )

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        with self.engine.connect() as conn:
            return self.search_where(conn, query, ["p.deleted_at IS NULL"], {}, k)

    def add(self, ids: Iterable[int] | Ids, vectors: Matrix) -> None:
        """Nothing to do: the rows are the index."""

    def remove(self, ids: Iterable[int] | Ids) -> None:
        """Nothing to do: searches skip deleted papers."""

    def __len__(self) -> int:
        return self._count.get(self.engine, self.model_name)

    def __contains__(self, paper_id: object) -> bool:
        if not isinstance(paper_id, int | np.integer):
            return False
        with self.engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM paper_embeddings WHERE model = :m AND paper_id = :p"),
                {"m": self.model_name, "p": int(paper_id)},
            ).first()
        return found is not None

    def vectors_for(self, ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
        """The vectors of those of ``ids`` that have one and are not deleted (as an in-memory
        index, which drops a deleted paper's vector)."""
        wanted = [int(i) for i in as_ids(list(ids))]
        if not wanted:
            return {}
        with self.engine.connect() as conn:
            kept = conn.execute(
                text(
                    "SELECT id FROM papers WHERE id = ANY(CAST(:ids AS bigint[])) "
                    "AND deleted_at IS NULL"
                ),
                {"ids": wanted},
            ).scalars()
            return self._store.read_of(conn, self.model_name, [int(i) for i in kept])
