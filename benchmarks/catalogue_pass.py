"""The filter catalogue's pass over a filter's rows, in this process, at 1 M and 2.5 M rows: no
database, no HNSW file; the catalogue (``search/catalogue.py``) is made straight from the embedding
cache, each row a real paper's vector plus noise (``full_arxiv.py``'s recipe: ``search_latency``'s
``_noisy``, cosine ~0.94 to its template) with its template's categories (so the categories' shares
and their tie to topics are the real ones), rows spread over ten years of announce days.

    python benchmarks/catalogue_pass.py [--papers 1000000] [--queries 24] [--repeat 2]
                                        [--keep 8192 32768]

Per filter — the broad categories (cs.LG, cs.CV, cs.CL, cs.AI), the other four of
``search_latency``'s mix, the last 365 days, cs.LG in them — and query (the ``FAR`` topics of
``filtered_dense.py``, then typed topics and paraphrases), alternately: the pass before (every row's
int8 code gathered and scanned 16,384 rows at a time; a category of at most 60 k rows from its kept
int8 block; a date range in place) and the pass the catalogue now makes (``Catalogue.nearest``:
past ``BITS_AFTER`` rows the sign bits first, then the 4-bit codes of the ``BITS_KEEP`` nearest),
each followed by the float32 re-rank of its ``RERANK`` x depth candidates that
``catalogue_ranking`` makes (vectors kept here as float16, widened). Wall and CPU
(``time.process_time``) a search, p50/p95 over both passes; recall@10 and @100 of each against the
exact float32 answer over the filter's rows (``--keep``: recall with other ``BITS_KEEP`` values).

Measured 2026-12-03 on the shared 2-core machine (others' benchmarks running; 24 queries, two
passes), ms a search, before -> now:

    1 M (load 8.3)      broad  CPU p50 131 -> 13.6  p95 202 -> 23.8   wall p50 381 -> 38
                                 recall@10 1.0 -> 1.0 (96 searches), @100 1.0 -> 0.9988
                        other  CPU p50 10.8 -> 14.2 p95 18.4 -> 19.3  (33-57 k rows: before from
                                 their int8 blocks), recall@10 1.0, @100 0.998
                        dates  CPU p50 14.7 -> 14.1 p95 31.7 -> 20.9  recall@10 1.0, @100 1.0
    1 M, int8 second stage (load 6.1): broad CPU p50 122 -> 10.7, p95 163 -> 14.1, wall p50 264 ->
                        23, p95 401 -> 34; the same recall
    2.5 M, int8 second stage (load 7.7): broad CPU p50 300 -> 18.9, p95 366 -> 23.3, wall p50 685
                        -> 44, p95 1,354 -> 93; recall@10 1.0 (@100 0.9992); other (84-143 k rows)
                        CPU p50 51 -> 8.1, recall@10 0.998 (one search 0.9), @100 0.995; dates
                        CPU p50 48 -> 12.7, recall 1.0
    2.5 M (load 6.2)    broad  CPU p50 265 -> 18.4 p95 340 -> 33.9   wall p50 446 -> 32, p95 653
                                 -> 57; recall@10 1.0 -> 1.0 (96 searches), @100 0.9992
                        other  CPU p50 44 -> 8.5 p95 80 -> 16.3 (84-143 k rows): recall@10 0.998
                                 (one search of 96 lost one of ten), @100 0.995
                        dates  CPU p50 42 -> 12.7 p95 72 -> 20.2  recall@10 1.0, @100 1.0

Keeping 8,192 rows after the bits: recall@10 1.0 / 0.994-1.0, @100 0.997 (broad), 0.988 (other) at
1 M and 2.5 M; 32,768: @100 0.9995-1.0. Memory at 1 M: 4-bit codes 183 MiB (int8: 366), bits 46
MiB, the eight categories' bit blocks 72 MiB; at 2.5 M 458 (916), 114 and 181 MiB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _search_corpus import cached_embeddings  # noqa: E402
from _user_queries import CATEGORIES, PARAPHRASES, TOPICS  # noqa: E402
from import_speed import LISTINGS  # noqa: E402
from search_latency import MODEL, _noisy  # noqa: E402

from dailypapers.search import catalogue as cat  # noqa: E402
from dailypapers.search import catalogue_codes  # noqa: E402
from dailypapers.search.filters import SearchFilters  # noqa: E402
from dailypapers.vectors.hnsw import int8_nearest  # noqa: E402

BROAD = ["cs.LG", "cs.CV", "cs.CL", "cs.AI"]
FAR = ["neural radiance fields", "state space models long sequences", "image super resolution",
       "protein folding", "robot grasping", "lip reading from silent video"]  # fmt: skip
DEPTH = 100


def categories_of(ids: list[str]) -> list[list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(LISTINGS.glob("*.jsonl.gz")):
        with gzip.open(path, "rb") as handle:
            for line in handle:
                item = json.loads(line)
                found.setdefault(item["id"], item.get("categories") or [])
    return [found.get(i, []) for i in ids]


def synthetic(papers: int, seed: int = 25) -> tuple[cat.Catalogue, np.ndarray, np.ndarray]:
    """A catalogue of ``papers`` rows, their float16 vectors and the int8 codes the catalogue kept
    before its 4-bit ones (see the module docstring)."""
    cached = cached_embeddings(MODEL, "onnx") or cached_embeddings(MODEL, "onnx", partial=True)
    if cached is None:
        sys.exit("no embedding cache: run benchmarks/embed_cache.py first")
    names, pool = cached
    cats = categories_of(names)
    rng = np.random.default_rng(seed)
    template = rng.integers(len(pool), size=papers)
    vectors = np.empty((papers, pool.shape[1]), np.float16)
    for start in range(0, papers, 100_000):
        stop = min(start + 100_000, papers)
        vectors[start:stop] = _noisy(rng, pool[template[start:stop]])
    days = np.sort(rng.integers(735_000, 738_650, size=papers)).astype(np.int32)
    ids = np.arange(1, papers + 1, dtype=np.int64)
    codes = np.empty((papers, (pool.shape[1] + 1) // 2), np.uint8)
    before = np.empty((papers, pool.shape[1]), np.int8)  # the int8 codes kept before
    bits = np.empty(((pool.shape[1] + 63) // 64, papers), np.uint64)
    centre = vectors[:: max(1, papers // cat.CENTRE_SAMPLE)].astype(np.float32).mean(axis=0)
    for start in range(0, papers, cat.CHUNK):
        matrix = vectors[start : start + cat.CHUNK].astype(np.float32)
        codes[start : start + len(matrix)] = catalogue_codes.nibble_codes(matrix)
        peak = np.abs(matrix).max(axis=1, keepdims=True)
        before[start : start + len(matrix)] = np.round(matrix * (127 / peak)).astype(np.int8)
        bits[:, start : start + len(matrix)] = catalogue_codes.sign_bits(matrix, centre)
    missing = np.empty(0, np.int64)
    catalogue = cat.Catalogue(ids, days, codes, bits, centre, missing, papers, papers)
    for name in CATEGORIES:
        has = np.array([name in c for c in cats])
        catalogue.categories[name] = np.flatnonzero(has[template]).astype(np.int64)
    return catalogue, vectors, before


def int8_gathered(codes: np.ndarray, rows: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """The pass before (2026-12-03 morning): every row's int8 code, gathered and scanned 16,384
    rows at a time, each run's ``k`` best kept and ranked again."""
    run_rows = 16_384
    if len(rows) <= run_rows:
        return rows[int8_nearest(codes[rows], query, k)]
    buffer = np.empty((run_rows, codes.shape[1]), np.int8)
    best = []
    for start in range(0, len(rows), run_rows):
        run = rows[start : start + run_rows]
        np.take(codes, run, axis=0, out=buffer[: len(run)])
        best.append(run[int8_nearest(buffer[: len(run)], query, k)])
    kept = np.concatenate(best)
    return kept[int8_nearest(codes[kept], query, k)]


def reranked(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``catalogue_ranking``'s last step: the candidates by their float32 cosines."""
    scores = vectors[np.sort(rows)].astype(np.float32) @ query
    order = np.argsort(-scores, kind="stable")[:DEPTH]
    return np.sort(rows)[order]


def exact(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    scores = np.concatenate(
        [
            vectors[rows[s : s + 65_536]].astype(np.float32) @ query
            for s in range(0, len(rows), 65_536)
        ]
    )
    top = np.argpartition(-scores, DEPTH)[:DEPTH]
    return rows[top[np.argsort(-scores[top], kind="stable")]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=24, help="queries per filter")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes over the queries")
    parser.add_argument("--keep", type=int, nargs="*", default=[], help="BITS_KEEP values to try")
    args = parser.parse_args()
    from dailypapers.config import Settings
    from dailypapers.embeddings.loader import load_embedder

    started = time.perf_counter()
    catalogue, vectors, before = synthetic(args.papers)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.papers:,} rows in {time.perf_counter() - started:.0f} s; 4-bit codes "
        f"{catalogue.codes.nbytes / 2**20:.0f} MiB (int8 before: {before.nbytes / 2**20:.0f}), bits {catalogue.bits.nbytes / 2**20:.0f} MiB; "
        f"peak RSS {rss:.0f} MiB; "
        + ", ".join(f"{c} {len(catalogue.categories[c]):,}" for c in CATEGORIES),
        flush=True,
    )
    embedder = load_embedder(Settings(_env_file=None))  # type: ignore[call-arg]
    texts = (FAR + TOPICS[:20] + PARAPHRASES[:20])[: args.queries]
    queries = [np.asarray(embedder.encode_query(t), np.float32) for t in texts]
    year = date.fromordinal(int(catalogue.days[-1])) - timedelta(days=365)
    filters = {c: SearchFilters(category=c) for c in CATEGORIES}
    filters["365 days"] = SearchFilters(since=year)
    filters["cs.LG, 365 days"] = SearchFilters(category="cs.LG", since=year)
    k = DEPTH * cat.RERANK
    names = ("before", "now")
    times: dict[str, dict[str, list[tuple[float, float]]]] = {}
    recall: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for label, where in filters.items():
        group = "broad" if label in BROAD else "other" if label in CATEGORIES else "dates"
        times.setdefault(group, {n: [] for n in names})
        recall.setdefault(group, {n: [] for n in names})
        rows = catalogue.rows(None, where)  # type: ignore[arg-type]
        rows = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
        print(f"{label}: {len(rows):,} rows", flush=True)
        catalogue.nearest(None, queries[0], where, k)  # type: ignore[arg-type]  # (its block)
        # before, a category of at most 60,000 rows kept its int8 codes as one block
        block = before[rows] if where.category and len(rows) <= 60_000 else None
        for query in queries:
            truth = exact(vectors, rows, query)
            for run in range(args.repeat):
                for name in names if run % 2 == 0 else names[::-1]:
                    wall, cpu = time.perf_counter(), time.process_time()
                    if name == "now":
                        found = catalogue.nearest(None, query, where, k) - 1  # type: ignore[arg-type]
                    elif block is not None:
                        found = rows[int8_nearest(block, query, k)]
                    elif where.category:
                        found = int8_gathered(before, rows, query, k)
                    else:  # a date range was scanned in place
                        found = rows[int8_nearest(before[rows[0] : rows[-1] + 1], query, k)]
                    answer = reranked(vectors, found, query)
                    took = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
                    times[group][name].append(took)
                    if run == 0:
                        recall[group][name].append(overlap(answer, truth))
            for keep in args.keep:
                saved, cat.BITS_KEEP = cat.BITS_KEEP, keep
                found = catalogue.nearest(None, query, where, k) - 1  # type: ignore[arg-type]
                cat.BITS_KEEP = saved
                recall[group].setdefault(f"keep {keep}", []).append(
                    overlap(reranked(vectors, found, query), truth)
                )
    for group in times:
        for name, values in recall[group].items():
            line = f"{group:6} {name:11}"
            if name in times[group]:
                walls = sorted(t[0] for t in times[group][name])
                cpus = sorted(t[1] for t in times[group][name])
                p95 = int(0.95 * (len(walls) - 1))
                line += (
                    f" wall p50 {statistics.median(walls):6.1f} p95 {walls[p95]:6.1f}"
                    f"  cpu p50 {statistics.median(cpus):6.1f} p95 {cpus[p95]:6.1f} ms"
                )
            worst = min(r[0] for r in values)
            print(
                f"{line}  recall@10 {statistics.mean(r[0] for r in values):.4f} (worst {worst:.1f})"
                f" @100 {statistics.mean(r[1] for r in values):.4f}"
            )
    blocks = sum(b.nbytes for b in catalogue.blocks.values()) / 2**20
    print(f"bits' blocks kept: {', '.join(catalogue.blocks)} ({blocks:.0f} MiB)")
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")


def overlap(answer: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    return len(set(answer[:10]) & set(truth[:10])) / 10, len(set(answer) & set(truth)) / DEPTH


if __name__ == "__main__":
    main()
