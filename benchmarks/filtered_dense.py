"""Filtered search by meaning, query by query: ``dense_ranking`` timed in this process for the
typed mix of ``search_latency.py`` (its queries, categories and date ranges), with the neighbour
counts (``k``) it asked of the HNSW index round by round, slowest first; ``--gather`` also times
the catalogue's pass over each broad category (``search/catalogue.py``) on its int8 codes alone
against the bits first (``BITS_AFTER``), with the second's recall@10 against the first.

    python benchmarks/filtered_dense.py [DATA_DIR] [--queries 50] [--show 25] [--gather]

DATA_DIR: a data dir with vectors, by default ``benchmarks/.cache/latency-1000k``
(search_latency.py builds it; the first open migrates it). Every category is searched once before
measuring (as a server that has run a while has), then two passes; wall ms.

Measured 2026-12-03 at 1 M papers on the shared 2-core machine (load 3-5: another benchmark and the
test suite running; ratios, not speeds):

    before (rounds growing by four up to 50,000)   pass 1 p50 8.4 p95 27.5 max 668 ms
        ``neural radiance fields`` in cs.CL        k = 792, 3168, 12672, 50000: 525-668 ms
    after (past CATALOGUE_AFTER: the catalogue)    that query k = 792, 3168: 110-390 ms
    --gather, 4 broad categories x 6 queries       whole p50 503 p95 1,444 ms, in runs p50 320
                                                   p95 545 ms (the same answers)

Since then (2026-12-03 afternoon) a pass over more than ``BITS_AFTER`` rows ranks them by their
sign bits first and only the ``BITS_KEEP`` nearest by their int8 codes; ``--gather`` now times the
int8 codes alone against that, with the recall@10 of the second's answers. Not yet run on a 1 M
database (its cache was gone on the new machine); the same pass measured in process on a catalogue
of 1 M and 2.5 M rows made from the embedding cache: ``catalogue_pass.py`` (figures there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _user_queries import CATEGORIES  # noqa: E402
from search_latency import user_requests  # noqa: E402

from dailypapers.config import Settings  # noqa: E402
from dailypapers.db.engine import make_engine  # noqa: E402
from dailypapers.embeddings.loader import load_embedder  # noqa: E402
from dailypapers.search import catalogue as catalogue_module  # noqa: E402
from dailypapers.search import dense  # noqa: E402
from dailypapers.search.catalogue import CATALOGUES  # noqa: E402
from dailypapers.search.dense import catalogue_ranking  # noqa: E402
from dailypapers.search.filters import SearchFilters  # noqa: E402
from dailypapers.vectors import LiveIndexes  # noqa: E402

DEFAULT_DIR = Path(__file__).resolve().parent / ".cache" / "latency-1000k"
FAR = ["neural radiance fields", "state space models long sequences", "image super resolution",
       "protein folding", "robot grasping", "lip reading from silent video"]  # fmt: skip


def _filters(params: dict[str, str]) -> SearchFilters:
    def day(key: str) -> date | None:
        return date.fromisoformat(params[key]) if key in params else None

    return SearchFilters(category=params.get("category"), since=day("from"), until=day("to"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--queries", type=int, default=50, help="queries per kind")
    parser.add_argument("--show", type=int, default=25, help="slowest searches printed")
    parser.add_argument("--gather", action="store_true", help="the catalogue's pass, A/B")
    args = parser.parse_args()
    if not (args.data_dir / "dailypapers.db").exists():
        sys.exit(f"{args.data_dir}: no database (run benchmarks/search_latency.py --size 1m first)")
    settings = Settings(data_dir=args.data_dir, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    started = time.perf_counter()
    index = LiveIndexes().open(settings, engine)
    if index is None:
        sys.exit(f"{args.data_dir}: no vectors")
    CATALOGUES.warm(engine, index)
    while (catalogue := CATALOGUES.ready(engine, index.model_name)) is None:
        time.sleep(0.5)
    print(f"{len(index):,} vectors; index and catalogue in {time.perf_counter() - started:.0f} s")
    embedder = load_embedder(settings)
    rounds: list[int] = []
    search = index.search

    def counted(query: Any, k: int) -> Any:  # noqa: ANN401
        rounds.append(k)
        return search(query, k)

    index.search = counted  # type: ignore[method-assign]
    rows = []
    with engine.connect() as conn:
        for category in CATEGORIES:  # each category's first use, before measuring
            vector = embedder.encode_query("warm up")
            dense.dense_ranking(conn, index, vector, SearchFilters(category=category), depth=100)
        for run in (1, 2):
            for kind, params in user_requests(args.data_dir, args.queries, seed=13, ids=[]):
                vector = np.asarray(embedder.encode_query(params["q"]), np.float32)
                rounds.clear()
                start = time.perf_counter()
                dense.dense_ranking(conn, index, vector, _filters(params), depth=100)
                took = (time.perf_counter() - start) * 1000
                rows.append((took, run, kind, params, list(rounds)))
        for run in (1, 2):
            times = sorted(r[0] for r in rows if r[1] == run)
            p95 = times[int(0.95 * (len(times) - 1))]
            print(
                f"pass {run}: p50 {statistics.median(times):.1f}  p95 {p95:.1f}  max {times[-1]:.1f} ms"
            )
        for took, run, kind, params, ks in sorted(rows, key=lambda r: -r[0])[: args.show]:
            where = " ".join(f"{k}={params[k]}" for k in ("category", "from") if k in params)
            print(f"  {took:7.1f} ms  pass {run}  {kind:10} {where or 'no filter':32} k={ks}  {params['q'][:40]!r}")  # fmt: skip
        if args.gather:
            gathered(conn, catalogue, index, embedder)
    print(f"load average {os.getloadavg()[0]:.1f}")


def gathered(conn: Any, catalogue: Any, index: Any, embedder: Any) -> None:  # noqa: ANN401
    """The catalogue's pass over each broad category: the int8 codes of all its rows (the pass
    before the bits) against the bits first (``BITS_AFTER``), alternately; recall@10 of the
    second against the first (the same float32 re-rank after both)."""
    times: dict[str, list[float]] = {"int8": [], "bits": []}
    recall = []
    for category in CATEGORIES:
        filters = SearchFilters(category=category)
        if catalogue.count(conn, filters) <= catalogue_module.BITS_AFTER:
            continue  # its int8 codes only
        for text in FAR:
            vector = np.asarray(embedder.encode_query(text), np.float32)
            answers = {}
            for name, after in (("int8", 10**12), ("bits", catalogue_module.BITS_AFTER)) * 2:
                saved, catalogue_module.BITS_AFTER = catalogue_module.BITS_AFTER, after
                start = time.perf_counter()
                answers[name] = catalogue_ranking(conn, catalogue, index, vector, filters, 100)
                times[name].append((time.perf_counter() - start) * 1000)
                catalogue_module.BITS_AFTER = saved
            recall.append(len(set(answers["int8"][:10]) & set(answers["bits"][:10])) / 10)
    for name, values in times.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"catalogue pass, {name:4}: p50 {statistics.median(values):.0f}  p95 {p95:.0f} ms")
    if recall:
        print(
            f"recall@10 of the bits' answers: {statistics.mean(recall):.4f} (worst {min(recall)})"
        )


if __name__ == "__main__":
    main()
