"""Where a search's milliseconds go: the typed mix of ``search_latency.py`` run in this process,
each step of ``services.papers.search_papers`` timed (wall and CPU: ``time.process_time``, this
process only), per filter kind; optionally a cProfile of one filter kind.

    python benchmarks/search_profile.py DATA_DIR [--queries 50] [--passes 2] [--profile category]
        [--only KIND] [--sql-plan | --shared] [--fresh]

DATA_DIR is a data dir with vectors (``benchmarks/.cache/latency-1000k`` from search_latency.py;
a copy: the first open migrates it and writes its vector index's int8 codes). The steps:

* ``encode``: the query's embedding (cached after a first pass, as in the server);
* ``keyword``: ``keyword_ranking`` (FTS5 / tsvector, the filter in its SQL);
* ``dense``: ``dense_ranking`` (the plan by the filter's size; exact pass or ANN + filter);
* ``floor``: ``above_floor`` (the dense candidates' cosines); ``author``: the author check;
* ``hydrate``: the page's papers (and with ``--marks`` their marks and snippets, as the HTML page
  makes them; the API makes none); ``entries``: the API's JSON entries;
* ``spelling``: the "did you mean" suggestion.

Measured 2026-12-03 at 1 M papers (a copy of ``latency-1000k``, mapped HNSW), limit 50, second pass
(query embeddings cached), ms a query, wall / CPU, on the shared 2-core machine:

    before (main: the SQL plan, marks made for the API), load 11.1
      no filter         p50  77 / 31   p95  146 /  51   hydrate 36/14, keyword 24/9, entries 10/4,
                                                       dense 7/2.5
      category          p50 635 / 252  p95 1249 / 479  dense 443/182, hydrate 52/23, keyword 30/10
      date range        p50 225 / 88   p95  479 / 201  dense 136/53, hydrate 36/17, keyword 26/9
      category + dates  p50 300 / 128  p95 1194 / 423  dense 305/122, keyword 39/13, hydrate 21/11
    after (the filter catalogue, no marks for the API), load 7.6
      no filter         p50  33 / 17   p95   65 /  26   keyword 15/7.5, entries 7.5/3.8, dense 5/2.4,
                                                       hydrate 4/1.9
      category          p50  68 / 30   p95  148 /  58   dense 42/20, keyword 21/9, entries 13/6
      date range        p50  67 / 31   p95  101 /  47   dense 34/15, keyword 15/7, entries 8/4
      category + dates  p50  59 / 30   p95  134 /  50   dense 36/16, keyword 17/9, entries 5/3

Where the milliseconds went: the dense half of a filtered search listed the filter's ids in SQL
and then read each one's vector from the mapped HNSW file (usearch ``get``, ~3 us and a NumPy
array a vector: 1.1 M reads for 25 searches), and the API marked 50 snippets a search that it never
shows (~0.5-1 ms each). What is left: the broad categories (cs.LG, cs.CV, cs.CL, cs.AI: 35-41 %
of papers) over-fetch ~500 neighbours from HNSW (~11 ms of CPU; ``dense.py: OVERFETCH_MARGIN``)
and check them with ``kept_ids`` in SQL (~3 ms); narrow filters scan up to 60 k int8 codes (~11 ms
at 60 k); the keyword half 7-9 ms (FTS5, the filter in its SQL: ``EXPLAIN QUERY PLAN`` is a MATCH
scan with a rowid probe of ``papers`` and the category key per match, at most 500 matches scored);
the API's JSON entries 3-6 ms. The first pass adds each category's first use (~0.3 s of CPU once:
its rows read and its codes copied into a block).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from search_latency import copied_queries, user_requests, variants

import dailypapers.search.dense as dense
import dailypapers.search.hybrid as hybrid
import dailypapers.services.papers as papers
import dailypapers.web.api as api
from dailypapers.config import Settings
from dailypapers.db.engine import make_engine, make_session_factory
from dailypapers.runtime import Runtime
from dailypapers.search.catalogue import CATALOGUES
from dailypapers.search.fts import SearchFilters
from dailypapers.search.spelling import Spelling
from dailypapers.vectors.live import index_folder

STEPS: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])  # wall, cpu (s)
CURRENT = ["none"]  # the filter kind of the query being run


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            STEPS[CURRENT[0], name][0] += time.perf_counter() - wall
            STEPS[CURRENT[0], name][1] += time.process_time() - cpu

    return wrapper


def instrument() -> None:
    hybrid.keyword_ranking = _timed("keyword", hybrid.keyword_ranking)
    hybrid.dense_ranking = _timed("dense", hybrid.dense_ranking)
    dense.above_floor = _timed("floor", dense.above_floor)  # (inside dense: its time counts twice)
    hybrid._sorted = _timed("sort", hybrid._sorted)
    papers.author_paper_ids = _timed("author", papers.author_paper_ids)
    papers.get_paper = _timed("id lookup", papers.get_paper)
    papers._papers = _timed("hydrate", papers._papers)
    papers.mark_title = _timed("hydrate", papers.mark_title)
    papers.snippet = _timed("hydrate", papers.snippet)
    Spelling.suggest = _timed("spelling", Spelling.suggest)  # type: ignore[method-assign]


class _TimedEncoder:
    def __init__(self, encoder: Any) -> None:
        self.model_name = encoder.model_name
        self.encode_query = _timed("encode", encoder.encode_query)


def _filters(params: dict[str, str]) -> SearchFilters:
    def day(key: str) -> date | None:
        return date.fromisoformat(params[key]) if key in params else None

    return SearchFilters(category=params.get("category"), since=day("from"), until=day("to"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--profile", help="cProfile this filter kind (e.g. 'category') last pass")
    parser.add_argument("--only", help="run only this filter kind")
    parser.add_argument("--marks", action="store_true", help="mark hits as the HTML page does")
    parser.add_argument("--sql-plan", action="store_true", help="no filter catalogue (before)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="forget the query embeddings before each pass: new queries in a warm process",
    )
    parser.add_argument(
        "--shared",
        action="store_true",
        help="map the catalogue saved in vectors/ as web processes do",
    )
    args = parser.parse_args()
    catalogues = not args.sql_plan
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings(data_dir=args.data_dir)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    runtime = Runtime()
    start = time.perf_counter()
    index = runtime.indexes.open(settings, engine)
    assert index is not None, "no vectors in this data dir"
    codes = getattr(index, "_codes_ready", None)
    if codes is not None:
        codes.wait()
    if catalogues:
        built = time.perf_counter()
        CATALOGUES.background = False
        folder = index_folder(settings, index.model_name) if args.shared else None
        CATALOGUES.warm(engine, index, folder)
        print(f"filter catalogue built in {time.perf_counter() - built:.1f} s")
    encoder = runtime.embedders.get(settings, index.model_name)
    semantic = hybrid.Semantic(_TimedEncoder(encoder), index)
    spelling = runtime.spelling(engine)
    spelling.suggest("warm up")
    while spelling.vocabulary() is None:
        time.sleep(0.2)
    print(
        f"index {index.kind}, {len(index):,} vectors, ready in {time.perf_counter() - start:.0f} s"
    )
    small = Path(__file__).parent / ".cache" / "latency-33k"
    copied = copied_queries(small, args.queries, seed=11)
    user = [r for r in user_requests(args.data_dir, args.queries, seed=13, ids=copied["id"])]
    if args.only:
        user = [r for r in user if r[0] == "id" or variants(r[1])[0] == args.only]
    instrument()
    if not catalogues:
        CATALOGUES.get = lambda conn, index: None  # type: ignore[method-assign]
    sessions = make_session_factory(engine)
    for attempt in range(args.passes):
        if args.fresh:
            encoder._queries.clear()  # every query's embedding new to the process again
        STEPS.clear()
        wall_of: dict[str, list[float]] = defaultdict(list)
        cpu_of: dict[str, list[float]] = defaultdict(list)
        profiler = cProfile.Profile()
        for kind, params in user:
            label = "id" if kind == "id" else variants(params)[0]
            CURRENT[0] = label
            profiled = attempt == args.passes - 1 and label == args.profile
            wall, cpu = time.perf_counter(), time.process_time()
            if profiled:
                profiler.enable()
            with sessions() as session:
                results = papers.search_papers(
                    session, params["q"], _filters(params), semantic=semantic,
                    shares=runtime.word_shares, spelling=spelling, limit=50,
                    offset=int(params.get("p", 0)) * 50, marks=args.marks,
                )  # fmt: skip
                api_start = (time.perf_counter(), time.process_time())
                api._entries(session, settings.public_url, [h.paper for h in results.hits], {})
                STEPS[label, "entries"][0] += time.perf_counter() - api_start[0]
                STEPS[label, "entries"][1] += time.process_time() - api_start[1]
            if profiled:
                profiler.disable()
            wall_of[label].append((time.perf_counter() - wall) * 1000)
            cpu_of[label].append((time.process_time() - cpu) * 1000)
        print(f"\npass {attempt + 1}, load {os.getloadavg()[0]:.1f}; ms per query, wall / CPU:")
        wall_of["all text"] = [t for k, v in wall_of.items() if k != "id" for t in v]
        cpu_of["all text"] = [t for k, v in cpu_of.items() if k != "id" for t in v]
        for label in wall_of:
            w, c = sorted(wall_of[label]), sorted(cpu_of[label])
            n = len(w)
            print(
                f"  {label:17s} n={n:3d}  p50 {w[n // 2]:6.1f} / {c[n // 2]:6.1f}   "
                f"p95 {w[min(n - 1, int(n * 0.95))]:6.1f} / {c[min(n - 1, int(n * 0.95))]:6.1f}"
                f"   mean {sum(w) / n:6.1f} / {sum(c) / n:6.1f}"
            )
        print("  steps (mean ms a query of that kind, wall / CPU):")
        for label in wall_of:
            if label == "all text":
                continue
            steps = sorted(((s, v) for (k, s), v in STEPS.items() if k == label),
                           key=lambda kv: -kv[1][0])  # fmt: skip
            n = len(wall_of[label])
            print(
                f"    {label:17s} "
                + ", ".join(f"{s} {v[0] * 1000 / n:.1f}/{v[1] * 1000 / n:.1f}" for s, v in steps)
            )
        if attempt == args.passes - 1 and args.profile:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
            print(out.getvalue())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
