"""Recall@10 of the HNSW index against exact search, and query latency of exact / int8 / HNSW.

    nice python benchmarks/ann_recall.py           # real vectors, then 1 M (HNSW index cached)
    nice python benchmarks/ann_recall.py --quick   # real vectors only (~1 min)
    nice python benchmarks/ann_recall.py --tune    # also other build parameters on the real set
    nice python benchmarks/ann_recall.py --size 200000   # another corpus size (not cached)

Vectors: the real MiniLM embeddings of the 2025 listings cached by benchmarks/embed_cache.py
(33,641 papers). 1,000 of them, held out at random, are the queries; the corpus is the other
32,641. The headline is the real set alone: the product's HNSW (``PARAMS``: connectivity 16,
expansion_add 128, f16) against exact float32, recall@10 = |HNSW top 10 ∩ exact top 10| / 10 at
each expansion_search. "within 0.005 of the 10th" counts an answer as right when its exact cosine
is within 0.005 of the true 10th (a near-tie); "exact over f16-rounded vectors" is the recall that
storing half floats alone allows. Latency is one query at a time, p50 / p95 in ms.

The 1 M run tops the real corpus up with synthetic vectors that look like new papers, not copies.
Each is seeded from a random real vector (all 32,641 are seeds, ~30 each) and placed at that
seed's own 10th-real-neighbour cosine (median 0.654, printed), in a direction mixed from the
directions to the seed's 10 real neighbours (see ``synthetic``). Checks printed: a synthetic
vector's 10th real neighbour is at cosine 0.661 (a real one's: 0.654), and 96.4 % of the queries'
true top 10 are synthetic where they are 96.7 % of the corpus (random or covariance-shaped noise
gave 0.2 %: synthetic vectors nobody's neighbours, which makes recall meaninglessly easy; the old
near-copies at cosine 0.9 of 3,000 seeds made it a tie-break lottery, 0.38). The 1 M HNSW index is
cached in benchmarks/.cache/ann-hnsw-1000000.usearch, keyed by the corpus and build parameters.

Measured here, 2 shared cores (load average 4-5 from other jobs; the two runs below differ by up
to 2x in latency for that reason, the recall figures are identical):

    32,641 real    exact float32 p50 8-12 ms / p95 9-27 ms; exact int8 p50 24-35 ms (recall 1.0)
                   HNSW build 11-14 s CPU; f16 rounding alone: recall 0.9995
                   ef=32  0.971  p50 0.15-0.25 ms
                   ef=64  0.992  p50 0.24-0.28 ms
                   ef=128 0.997-0.998 (default)  p50 0.44-0.60 ms, p95 0.74-0.87 ms
                   ef=256 0.999  p50 0.86 ms;  ef=512 0.999  p50 1.6-2.2 ms
    1,000,000      query's 10th neighbour at cosine 0.736 (denser), 10th-11th gap median 0.001
                   exact float32 p50 166-257 ms / p95 200-313 ms; exact int8 p50 0.5-1.0 s
                   HNSW build 969 s CPU (24 min wall under nice); f16 rounding alone: 0.9991
                   ef=32  0.899 (0.958 within 0.005)  p50 0.29-0.59 ms
                   ef=64  0.954 (0.982)               p50 0.47-0.86 ms
                   ef=128 0.982 (0.994) (default)     p50 0.85-1.39 ms, p95 1.7-2.5 ms
                   ef=256 0.993 (0.999)               p50 1.35-2.29 ms, p95 1.9-3.2 ms
                   ef=512 0.996 (1.000)               p50 2.9-4.1 ms

--tune on the real set: f32 storage (build 18 s CPU) 0.999 at ef=128; connectivity 32 (17 s CPU)
0.981 / 0.996 / 0.999 at ef 32 / 64 / 128, p50 0.95 ms at 128: neither is needed.

So the default expansion_search 128 meets recall@10 >= 0.95 with a margin at both sizes (0.998
real, 0.982 at 1 M) in about a millisecond; 64 would be borderline at 1 M (0.954). The misses
at 1 M are mostly near-ties (97 % of queries have their 10th and 11th within 0.005), not f16.
NumPy has no int8 matrix-vector kernel, so exact-int8 saves memory (a quarter), not time, here.
Exact search grows linearly with the corpus: at the default DAILYPAPERS_HNSW_THRESHOLD of 200 k,
where HNSW takes over, it costs ~35-50 ms a query here (interpolated, not measured).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dailypapers.vectors.exact import ExactIndex, Int8ExactIndex  # noqa: E402
from dailypapers.vectors.hnsw import (  # noqa: E402
    PARAMS,
    HnswIndex,
    HnswParams,
    usearch_index_class,
)

CACHE = Path(__file__).resolve().parent / ".cache"
STEM = "embeddings-all-minilm-l6-v2-onnx"
QUERIES = 1000
K = 10
EXPANSIONS = (32, 64, 128, 256, 512)
BLOCK = 100_000
PULL = 0.25  # see synthetic(): 0 scatters synthetic vectors, 0.5 crowds them near real ones
Matrix = np.ndarray


def real_vectors() -> Matrix:
    """The cached real embeddings (the finished cache, else a copy of the checkpoint)."""
    finished = CACHE / f"{STEM}.npy"
    if finished.is_file():
        vectors: Matrix = np.load(finished).astype(np.float32)
        print(f"{len(vectors):,} real vectors from {finished.name}")
        return vectors
    partial = CACHE / f"{STEM}-partial.npy"
    if partial.is_file():
        copy = CACHE / "ann-recall-input.npy"
        shutil.copyfile(partial, copy)  # the checkpoint is rewritten while embed_cache.py runs
        vectors = np.asarray(np.load(copy), np.float32)
        print(f"{len(vectors):,} real vectors from {partial.name} (embed_cache.py unfinished)")
        return vectors
    sys.exit("no cached embeddings: run benchmarks/embed_cache.py first")


def to_half(vectors: Matrix) -> Matrix:
    """``vectors`` rounded to float16 and back (NumPy's float16 matrix product is very slow)."""
    rounded: Matrix = vectors.astype(np.float16).astype(np.float32)
    return rounded


def exact_topk(
    vectors: Matrix, queries: Matrix, k: int = K, *, half: bool = False
) -> tuple[Matrix, Matrix]:
    """(ids, scores) of the true k nearest of every query, best first, by blocks of a matrix
    product (fast at 1 M); ``half``: with the vectors rounded to float16."""
    best_ids = np.zeros((len(queries), 0), np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(vectors), BLOCK):
        block = vectors[start : start + BLOCK]
        scores = queries @ (to_half(block) if half else block).T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        best_ids = np.hstack([best_ids, top + start])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        keep = np.argsort(-best_scores, axis=1)[:, :k]
        best_ids = np.take_along_axis(best_ids, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return best_ids, best_scores


def real_neighbours(vectors: Matrix, k: int = K, block: int = 1000) -> tuple[Matrix, Matrix]:
    """(ids, cosines) of the k nearest *other* rows of every row, best first (exact)."""
    ids = np.empty((len(vectors), k), np.int64)
    cosines = np.empty((len(vectors), k), np.float32)
    for start in range(0, len(vectors), block):
        scores = vectors[start : start + block] @ vectors.T
        rows = np.arange(len(scores))
        scores[rows, rows + start] = -np.inf  # not itself
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1)
        ids[start : start + block] = np.take_along_axis(top, order, axis=1)
        cosines[start : start + block] = np.take_along_axis(top_scores, order, axis=1)
    return ids, cosines


def describe(values: Matrix) -> str:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return f"median {p50:.3f} (p10 {p10:.3f}, p90 {p90:.3f})"


def synthetic(
    real: Matrix, neighbours: Matrix, tenth: Matrix, count: int, rng: np.random.Generator
) -> Matrix:
    """``count`` unit vectors, each at cosine ``tenth[seed]`` from a random real seed.

    The cosine is the seed's own 10th-neighbour cosine, so a synthetic vector is as far from its
    seed as the seed's 10th real neighbour is: a new paper nearby, not a copy. Its direction is a
    random mix of the directions from the seed to its 10 real neighbours (Gaussian weights with
    mean ``PULL``), so it stays where MiniLM vectors lie instead of in a random direction of 384
    dimensions (isotropic or globally shaped noise put synthetic vectors where no real query
    looks: 0.2 % of the true top 10 at 100 k).
    """
    parts = []
    for start in range(0, count, 10_000):
        seeds = rng.integers(0, len(real), min(10_000, count - start))
        base = real[seeds]
        weights = rng.standard_normal(neighbours[seeds].shape, dtype=np.float32) + PULL
        noise = np.einsum("nk,nkd->nd", weights, real[neighbours[seeds]] - base[:, None, :])
        noise -= np.sum(noise * base, axis=1, keepdims=True) * base
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        cos = tenth[seeds][:, None]
        out = cos * base + np.sqrt(1 - cos**2) * noise
        parts.append(out / np.linalg.norm(out, axis=1, keepdims=True))
    return np.concatenate(parts).astype(np.float32)


def corpus(real: Matrix, size: int, seed: int = 0) -> Matrix:
    """``size`` unit vectors: all of ``real``, then synthetic ones seeded from all of them."""
    if size <= len(real):
        return real[:size]
    start = time.perf_counter()
    neighbours, cosines = real_neighbours(real)
    tenth = cosines[:, K - 1]
    print(
        f"\nreal vector -> its 10th real neighbour (of {len(real):,}): cosine {describe(tenth)}"
        f" ({time.perf_counter() - start:.0f} s)"
    )
    rng = np.random.default_rng(seed)
    parts = [real]
    for start in range(len(real), size, BLOCK):
        parts.append(synthetic(real, neighbours, tenth, min(BLOCK, size - start), rng))
    vectors = np.concatenate(parts)
    sample = vectors[len(real) :: max(1, (size - len(real)) // 1000)][:1000]
    print(
        "synthetic vector -> its 10th real neighbour: cosine "
        f"{describe(exact_topk(real, sample)[1][:, K - 1])}"
    )
    return vectors


def latencies(search: Callable[[Matrix], object], queries: Matrix) -> tuple[float, float]:
    """p50 / p95 wall milliseconds of one query at a time."""
    times = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - start) * 1000)
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[int(0.95 * len(ordered))]


def build_hnsw(vectors: Matrix, params: HnswParams, cache: Path | None) -> HnswIndex:
    """The product's HnswIndex over ``vectors`` (keys = row numbers), cached when ``cache`` is
    given: the cache is keyed by the count, the build parameters and a sample of the vectors."""
    Index = usearch_index_class()
    fingerprint = hashlib.sha256(vectors[:: max(1, len(vectors) // 1000)].tobytes()).hexdigest()
    build = {k: v for k, v in params.__dict__.items() if k != "expansion_search"}
    wanted = {"count": len(vectors), "params": build, "corpus": fingerprint}
    meta = cache.with_suffix(".json") if cache is not None else None
    if cache is not None and meta is not None and cache.is_file() and meta.is_file():
        if json.loads(meta.read_text()) == wanted:
            print(f"  HNSW loaded from {cache.name}")
            return HnswIndex("bench", vectors.shape[1], params, Index.restore(str(cache)))
        print(f"  {cache.name} holds another corpus: rebuilding it")
    index = HnswIndex("bench", vectors.shape[1], params)
    start, cpu = time.perf_counter(), time.process_time()
    for offset in range(0, len(vectors), 50_000):
        chunk = vectors[offset : offset + 50_000]
        index.add(np.arange(offset, offset + len(chunk)), chunk)
        if len(vectors) > 100_000:
            print(
                f"    {offset + len(chunk):,} added, {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    print(
        f"  HNSW build {time.perf_counter() - start:.1f} s wall, "
        f"{time.process_time() - cpu:.1f} s CPU for {len(vectors):,} vectors ({params})"
    )
    if cache is not None and meta is not None:
        index._index.save(str(cache))  # noqa: SLF001
        meta.write_text(json.dumps(wanted))
    return index


def exact_latency(vectors: Matrix, queries: Matrix) -> tuple[float, float]:
    """p50 / p95 of the product's float32 exact index (freed on return: 1.5 GB at 1 M)."""
    exact = ExactIndex("bench", vectors.shape[1], capacity=len(vectors))
    exact.add(np.arange(len(vectors)), vectors)
    return latencies(lambda q: exact.search(q, K), queries)


def run_exact(vectors: Matrix, queries: Matrix, truth: Matrix) -> None:
    """Latency of the two exact indexes (and the recall of int8 codes)."""
    timed = queries[: 200 if len(vectors) < 500_000 else 50]  # a 1 M scan takes a while
    p50, p95 = exact_latency(vectors, timed)
    print(f"  exact float32   p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
    int8 = Int8ExactIndex(
        "bench", vectors.shape[1], lambda keys: {k: vectors[k] for k in keys}, len(vectors)
    )
    int8.add(np.arange(len(vectors)), vectors)
    p50, p95 = latencies(lambda q: int8.search(q, K), timed)
    found = [set(int8.search(q, K)[0].tolist()) for q in timed]
    recall = np.mean([len(f & set(t.tolist())) / K for f, t in zip(found, truth, strict=False)])
    print(f"  exact int8      p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  recall@10 {recall:.4f}")


def run_hnsw(hnsw: HnswIndex, queries: Matrix, truth: Matrix, scores: Matrix) -> None:
    """Recall@10 against exact float32, and latency, at each expansion_search."""
    tenth = scores[:, K - 1]
    for expansion in EXPANSIONS:
        hnsw._index.expansion_search = expansion  # noqa: SLF001
        results = [hnsw.search(q, K) for q in queries]
        recall = np.mean(
            [
                len(set(f.tolist()) & set(t.tolist())) / K
                for (f, _), t in zip(results, truth, strict=True)
            ]
        )
        # near-ties: a result as close as the true 10th (within 0.005) is as good an answer
        tolerant = np.mean(
            [np.mean(s >= t - 0.005) for (_, s), t in zip(results, tenth, strict=True)]
        )
        p50, p95 = latencies(lambda q: hnsw.search(q, K), queries[:300])
        marker = "  <- default" if expansion == PARAMS.expansion_search else ""
        print(
            f"  HNSW ef={expansion:<4} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  recall@10 {recall:.4f}"
            f"  (within 0.005 of the 10th: {tolerant:.4f}){marker}"
        )
    hnsw._index.expansion_search = PARAMS.expansion_search  # noqa: SLF001


def run(
    vectors: Matrix, real_count: int, queries: Matrix, params: HnswParams, cache: Path | None
) -> None:
    print(f"\n{len(vectors):,} vectors ({real_count:,} real), {len(queries)} held-out real queries")
    truth, scores = exact_topk(vectors, queries, K + 1)
    gap = scores[:, K - 1] - scores[:, K]
    truth, scores = truth[:, :K], scores[:, :K]
    print(f"  query -> its 10th neighbour: cosine {describe(scores[:, K - 1])}")
    print(f"  10th - 11th cosine gap {describe(gap)}; {np.mean(gap < 0.005):.1%} under 0.005")
    if real_count < len(vectors):
        share, expected = np.mean(truth >= real_count), 1 - real_count / len(vectors)
        print(f"  {share:.1%} of the true top 10 are synthetic ({expected:.1%} of the corpus)")
    run_exact(vectors, queries, truth)
    if params.dtype == "f16":  # what storing half floats alone costs, before any graph search
        rounded = exact_topk(vectors, to_half(queries), half=True)[0]
        recall = np.mean([len(set(r) & set(t)) / K for r, t in zip(rounded, truth, strict=True)])
        print(f"  exact over f16-rounded vectors      recall@10 {recall:.4f}")
    hnsw = build_hnsw(vectors, params, cache)
    run_hnsw(hnsw, queries, truth, scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the real vectors only")
    parser.add_argument("--tune", action="store_true", help="sweep build parameters (real set)")
    parser.add_argument("--size", type=int, default=1_000_000, help="real + synthetic corpus")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    real = real_vectors()
    order = np.random.default_rng(1).permutation(len(real))
    queries, real = real[order[:QUERIES]], real[order[QUERIES:]]
    run(real, len(real), queries, PARAMS, None)
    if args.tune:
        for connectivity, expansion_add, dtype in ((16, 128, "f32"), (32, 128, "f16")):
            run(real, len(real), queries, HnswParams(connectivity, expansion_add, 128, dtype), None)
    if args.quick or args.size <= len(real):
        return
    vectors = corpus(real, args.size)
    cache = CACHE / f"ann-hnsw-{args.size}.usearch" if args.size >= 500_000 else None
    run(vectors, len(real), queries, PARAMS, cache)


if __name__ == "__main__":
    main()
