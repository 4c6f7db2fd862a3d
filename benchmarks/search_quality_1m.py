"""Known-item search quality at 1 M papers: search_quality.py's test on search_latency.py's 1 M database.

The 1 M database (``benchmarks/.cache/latency-1000k``, built by ``search_latency.py --size 1m``)
holds the 33,641 real papers of 2025 and 966 k synthetic ones made from them (one title word and a
tenth of the abstract words swapped, the vector a noisy copy of the real one: cosine ~0.94), so each
real paper has ~29 near-copies of itself. Those copies were made from the full text, the held-out
sentence included, so they would outrank the paper they copy on its own sentence (BM25 hit@10
0.000 with them): each known item's copies (synthetic papers within cosine 0.85 of its vector)
are left out of its rankings, and it competes with the other ~966 k papers. The known items are
search_quality.py's (seed 1, ``--sample`` papers): each held-out middle sentence of an abstract
must find its paper (``sentence``: BM25 and dense on title + the rest of the abstract) and each
title must find it with abstract-only matching (``title``), and each described paper its
description (``described``), by BM25 (the keyword half, then as rescored over both halves'
candidates), dense (the HNSW graph of the database, as served) and hybrid (the shipped fusion,
and the fusion before the rescoring). The held-out text is replaced inside one
transaction that is rolled back, and the graph's vectors only in memory: the database is left as
it was. Query and held-out vectors come from search_quality.py's embedding cache (run it first
with the same ``--sample``), so no model is loaded here.

    python benchmarks/search_quality_1m.py [--sample 300]

Measured 2026-12-02 (300 known items, seed 1, load ~15; 27.5 copies left out a known item on
average), hit@1 / hit@5 / hit@10 / MRR, against search_quality.py's at 33,641 papers:

    sentence   BM25    0.010 0.013 0.020 0.013     (33.6 k: MRR 0.426)
               dense   0.180 0.210 0.217 0.193     (0.439)
               hybrid  0.123 0.220 0.223 0.167     (0.526)
    title      BM25    0.220 0.270 0.277 0.244     (0.760)
               dense   0.473 0.493 0.503 0.486     (0.770)
               hybrid  0.340 0.600 0.620 0.465     (0.845)

With the candidates rescored (``search/rescore.py``) and a third kind, the 300 papers described
in other words (``_described_queries.py``; their copies left out the same way, nothing held out),
2026-12-04, 300 known items, load ~1.2, hybrid before -> after (hit@1 / hit@5 / hit@10 / MRR):

    sentence   0.123 0.217 0.220 0.165 -> 0.170 0.217 0.223 0.190
    title      0.340 0.590 0.617 0.459 -> 0.487 0.593 0.617 0.528
    described  0.223 0.750 0.787 0.478 -> 0.753 0.823 0.830 0.785   (dense alone MRR 0.729)

(A second run the same evening: the described row the same, sentences 0.160 -> 0.183 and titles
0.454 -> 0.520 MRR: the HNSW graph's answers for the held-out vectors vary a little by run.)

These say more about the synthetic database than about search at 1 M. Every real paper has ~29
copies at cosine ~0.94, so each paper nearer the query than the known item comes ~30 times: a
rank r at 33.6 k becomes ~30 r. BM25's sentence figure is an artefact as well: all of a held-out
sentence's words still meet in the known item's copies, so the all-words step answers (with
copies only, left out here) and the fallback to pairs of words, which finds the paper at 33.6 k,
never runs. A fair 1 M test needs a million distinct real papers (the full arXiv metadata).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np
from _described_queries import DESCRIBED
from _search_corpus import CACHE, corpus_data_dir, embed_cached
from search_quality import EMBEDDERS, line, metrics, middle_sentence, rank_of
from sqlalchemy import Connection, text

from dailypapers.config import Settings
from dailypapers.db import keyword_index
from dailypapers.db.engine import make_engine
from dailypapers.search.dense import dense_ranking
from dailypapers.search.fts import WordShares, keyword_ranking
from dailypapers.search.hybrid import (
    CANDIDATES,
    DENSE_FLOOR,
    DENSE_WEIGHT,
    RRF_K,
    rescored_keywords,
    rrf_fuse,
)
from dailypapers.vectors.hnsw import HnswIndex, load_saved

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
COPY_COSINE = 0.85  # the synthetic copies are ~0.94 from their paper
DEPTH = 2 * CANDIDATES  # ranked before a known item's copies are left out


def cached(name: str, keys: list[str]) -> np.ndarray:
    path = CACHE / f"{name}.npy"
    if json.loads((CACHE / f"{name}.keys.json").read_text()) != keys:
        raise SystemExit(f"{name}: other known items than search_quality.py's; run it first")
    return np.load(path)


def hold_out(conn: Connection, rests: dict[int, str]) -> None:
    ids = list(rests)
    keyword_index.unindex(conn, ids)
    conn.execute(
        text("UPDATE papers SET abstract = :abstract WHERE id = :id"),
        [{"id": i, "abstract": rest} for i, rest in rests.items()],
    )
    keyword_index.index(conn, ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    big = CACHE / "latency-1000k"
    small = make_engine(f"sqlite:///{corpus_data_dir() / 'dailypapers.db'}")
    with small.connect() as conn:
        rows = conn.execute(text("SELECT id, arxiv_id, title, abstract FROM papers")).all()
    small.dispose()
    by_id = {int(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}
    # search_quality.py's sample: the same pool, seed and size (its cache keys check it)
    pool = sorted(p for p in by_id if middle_sentence(by_id[p][2]))
    sample = random.Random(args.seed).sample(pool, min(args.sample, len(pool)))
    keys = [str(p) for p in sample]
    tag = f"onnx-x2-{args.seed}-{len(sample)}-{len(by_id)}"
    vectors = {
        name: cached(f"quality-{name}-{tag}", keys)
        for name in ("sentences", "titles", "rests", "papers")
    }
    settings = Settings(embedding_backend="onnx", data_dir=corpus_data_dir(), _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(f"sqlite:///{big / 'dailypapers.db'}")
    start = time.monotonic()
    folder = next((big / "vectors").iterdir())
    graph: HnswIndex = load_saved(Path(folder), MODEL, 384).index
    print(f"1 M graph loaded in {time.monotonic() - start:.0f} s", flush=True)
    shares = WordShares()
    with engine.connect() as conn:
        big_ids = {str(a): int(i) for a, i in conn.execute(text("SELECT arxiv_id, id FROM papers"))}
        targets = [big_ids[by_id[p][0]] for p in sample]
        # each real paper's synthetic near-copies (made from its full text, held-out sentence
        # included): the database's artefact, not competitors, so they are left out of rankings
        real = max(big_ids[by_id[p][0]] for p in by_id)
        held = set(targets)
        described = [
            (big_ids[a], q) for a, q in DESCRIBED.items() if a in big_ids and big_ids[a] not in held
        ]
        known = [*targets, *(t for t, _ in described)]
        original = graph.vectors_for(known)
        copies: dict[int, set[int]] = {}
        for target in known:
            near, scores = graph.search(original[target], 200)
            copies[target] = {
                int(i) for i, c in zip(near, scores, strict=True) if i > real and c >= COPY_COSINE
            }
        mean = sum(len(copies[t]) for t in targets) / len(targets)
        print(f"near-copies left out: {mean:.1f} a known item (cosine >= {COPY_COSINE})")
        sentences = [middle_sentence(by_id[p][2]) or "" for p in sample]
        rests = [
            " ".join(by_id[p][2].split()).replace(s, " ").strip()
            for p, s in zip(sample, sentences, strict=True)
        ]
        titles = [" ".join(by_id[p][1].split()) for p in sample]
        described_vectors = embed_cached(
            EMBEDDERS.get(settings),
            "quality-described-1m",
            [str(t) for t, _ in described],
            [q for _, q in described],
        )
        # one transaction (begun by the reads above), rolled back at the end
        hold_out(conn, dict(zip(targets, rests, strict=True)))
        for task, items, queries, column, paper_vectors, query_vectors in (
            ("sentence", targets, sentences, None, vectors["papers"], vectors["sentences"]),
            ("title", targets, titles, "abstract", vectors["rests"], vectors["titles"]),
            ("described", [t for t, _ in described], [q for _, q in described], None, None,
             described_vectors),
        ):  # fmt: skip
            if paper_vectors is not None:
                graph.add(items, paper_vectors)  # the held-out (or abstract-only) vectors
            ranks: dict[str, list[int | None]] = {
                "BM25": [],
                "dense": [],
                "hybrid, not rescored": [],
                "hybrid": [],
            }
            times = {"BM25": 0.0, "dense": 0.0}
            for target, query, vector in zip(items, queries, query_vectors, strict=True):
                t0 = time.perf_counter()
                kw = keyword_ranking(conn, query, depth=DEPTH, column=column, shares=shares)
                t1 = time.perf_counter()
                near = dense_ranking(conn, graph, vector, depth=DEPTH)
                found = graph.vectors_for(near)
                spared = set(kw)  # the floor spares the keyword half's papers (search/hybrid.py)
                dn = [i for i in near if i in spared or float(found[i] @ vector) >= DENSE_FLOOR]
                kw = [i for i in kw if i not in copies[target]][:CANDIDATES]
                dn = [i for i in dn if i not in copies[target]][:CANDIDATES]
                times["BM25"] += t1 - t0
                times["dense"] += time.perf_counter() - t1
                before = [i for i, _ in rrf_fuse([kw, dn], k=RRF_K, weights=[1.0, DENSE_WEIGHT])]
                titled = column != "abstract"
                kw = rescored_keywords(conn, query, kw, dn, shares=shares, titles=titled)
                fused = [i for i, _ in rrf_fuse([kw, dn], k=RRF_K, weights=[1.0, DENSE_WEIGHT])]
                rows = (("BM25", kw), ("dense", dn), ("hybrid, not rescored", before))
                for label, ranking in (*rows, ("hybrid", fused)):
                    ranks[label].append(rank_of(target, ranking))
            n = len(queries)
            print(
                f"\n{task} queries at 1 M (n={n}; BM25 {1000 * times['BM25'] / n:.0f} ms/query, "
                f"dense {1000 * times['dense'] / n:.0f} ms/query)      hit@1  hit@5 hit@10    MRR"
            )
            for label, values in ranks.items():
                print(line(label + (f" k={RRF_K} w={DENSE_WEIGHT}" if label == "hybrid" else ""),
                           metrics(values)))  # fmt: skip
        conn.rollback()
    loads = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {loads} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
