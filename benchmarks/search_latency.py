"""Search latency over HTTP: p50/p95 of `/api/papers/search` at 33 k and 1 M papers (target p95 <
50 ms at 1 M, query embedding included), against a real `dailypapers serve` on loopback.

Databases (built once, cached in ``benchmarks/.cache``; sizes and build times are printed):

* ``latency-33k``: the 33,641 papers of the 2025 listings with their vectors;
* ``latency-1m``: those plus synthetic papers up to ``--papers`` (default 1,000,000), each made from
  a real paper with one title word and a tenth of its abstract words swapped for words from the
  real vocabulary, announced on a day between 2015 and 2024, and given that real paper's vector plus
  Gaussian noise (renormalised, cosine ~0.94 to it), so the index sees realistic clusters.

Real vectors come from the embedding cache (``benchmarks/.cache/embeddings-*``, see its README);
without it, papers that have no real vector get one near a real one embedded by
``search_quality.py``'s corpus (run that first) — say which when quoting figures.

What users see is the headline: 150 text queries as people type them, none copied from an indexed
paper (``benchmarks/_user_queries.py``: 50 paraphrases — what someone wants, in their own words —,
50 topic phrases and 50 of either with a typo or two), so keyword search meets words it does not
have and reaches its fallbacks as in real use. Each has the API's default limit and a mix of
filters (none 40%, a category 30%, a date range of 30, 90 or 365 days 20%, both 10%) and pages
(p=0 60%, p=1 25%, p=2 15%). Its p95 is broken down by kind, filter and page. Reported apart:
50 arXiv id or URL lookups (they jump to one paper and would pull the headline down), and the
mix this benchmark used to headline — 150 queries copied from indexed papers (short keywords, a
sentence of an abstract, a quoted phrase; limit 20, no filters) — for comparison with the older
figures. All run one at a time, shuffled together, over one keep-alive connection, after a
warm-up on other queries (and, on SQLite, once the filter catalogue is ready, one search in each
category: a server that has run a while has used them; ``--cold-filters`` skips that and so times
each category's first use, ~0.3 s at 1 M, in the first pass); a first pass with every query's
embedding new to the server, a second with them cached. Server CPU time per request comes from
/proc. (Run-to-run spread at 1 M on a quiet box, nine runs on 2026-12-03: about ±8 ms at p95; see
docs/PERFORMANCE.md.)

    python benchmarks/search_latency.py [--size 33k|1m|both] [--papers 1000000] [--quick] [--cold-filters]
        [--warm-searches N]

With the filter catalogue (search/catalogue.py: a filtered search by meaning reads each paper's day
and int8 code from memory) and no marks made for the API (services/papers.py: ``marks=False``),
measured 2026-12-03 00:33-00:36 while the shared 2-core machine was quieter (load 1.9-3.6):

    1 M (mapped HNSW), load 3.1, server CPU 29.9 / 17.1 ms a request (whole mix)
      HEADLINE text queries as typed   p50  43 /  22   p95  140 /   43   (target p95 < 50 ms: met
                                                                        once query embeddings are
                                                                        cached, not on first sight)
        paraphrase / topic / misspelled                p95 45, 40, 42 (second pass)
        no filter                      p50  32 /  18   p95   60 /   27
        category                       p50  54 /  24   p95  303 /   43
        date range                     p50  56 /  28   p95  137 /   46
        category + dates               p50  49 /  24   p95  325 /   44
      id lookups                       p50   8 /   5   p95   19 /    8
      copied from papers (old mix)     p50  34 /  14   p95   71 /   20

    33 k (exact index), load 1.9 / 3.6, server CPU 35.0 / 31.1 ms a request
      HEADLINE text queries as typed   p50  45 /  63   p95   75 /  124
        no filter / category / dates / both             p95 80, 72, 68, 109 (first pass)
      id lookups                       p50  11 /  20   p95   29 /   58

Re-measured 2026-12-03 22:55-23:08 on a freshly built 1 M database (sign bits first, rows checked
before SQL, the eight broadest categories read at the build, the catalogue mapped from its saved
files; two runs, the first building the HNSW graph at start, load 0.4-1.7): p50 39-43 / 31-33,
p95 63-68 / 49-52 ms (first / second pass); no filter p95 53-64 / 42-43, category 61-64 / 49-54,
dates 62-69 / 49-50, both 83-97 / 68-71; server CPU 27-28 / 23 ms a request. The first pass's
extra ~15 ms at p95 is mostly a fresh server's, not the queries' newness: with ``--warm-searches
300`` (300 other searches first, load 1.0) the new queries gave p50 35 / p95 52 ms and the
cached ones 29 / 46 (server CPU 28 / 22 ms a request: the embeddings, ~3 ms a query in process,
more for long ones); in process (``search_profile.py --fresh``) new queries in a warm process
p50 24-26 / p95 39-40 ms, where the first pass of a process whose database pages had been pushed
out of the page cache took 64 / 147.

2026-12-04 16:58-17:11 on a freshly built 1 M database, quiet box (load 0.6-1.0), the code before
and after a search's keyword half ran beside its dense half (``search/hybrid.py``), four runs
each, interleaved (the first run, which built the HNSW graph at start, left out):

                       before: first / second pass        after: first / second pass
    HEADLINE p50       24.5-28.8 / 21.0-25.8 ms           20.0-24.2 / 18.6-20.9 ms
    HEADLINE p95       37.5-47.2 / 31.1-41.0 ms           28.6-38.4 / 27.7-29.6 ms
    server CPU         18.5-21.8 / 14.4-18.5 ms           18.4-22.3 / 15.3-17.3 ms

so the < 50 ms target at 1 M holds for new queries too, on a quiet box; the spread between runs
of the same code (~10 ms at p95) is as large as the difference, which every run pair shows.

At 33 k the unfiltered row is the slowest and the server's CPU a request is twice 1 M's: the exact
index multiplies every paper's float32 vector with the query on both cores (NumPy's BLAS threads),
where 1 M asks HNSW. At 1 M the first pass's tail is each category's first use (its rows read and
its codes copied into a block, ~0.3 s) and the query embeddings (~3 ms of CPU each).

The same code, measured 2026-12-03 00:10-00:22 at the usual load (others' suites running),
on private copies of the cached databases migrated to 0014, the catalogue built before measuring
(~27-38 s after the index opened at 1 M); p50 / p95 in ms, first pass / second:

    1 M (mapped HNSW), load 7.5 / 7.1, server CPU 36.6 / 31.7 ms a request (whole mix; before:
    128 / 60)
      HEADLINE text queries as typed   p50  68 /  68   p95  255 /  139   (before: 983 second pass)
        paraphrase / topic / misspelled                p95 129, 172, 140 (second pass)
        no filter                      p50  55 /  53   p95  133 /  101   (before: 239)
        category                       p50  81 /  77   p95  595 /  140   (before: 679)
        date range                     p50  81 /  85   p95  189 /  150   (before: 332)
        category + dates               p50  80 /  90   p95  453 /  149   (before: 1227)
      id lookups                       p50  16 /  18   p95   34 /   42
      copied from papers (old mix)     p50  48 /  45   p95  137 /   81

    33 k (exact index), load 8.9 / 9.0, server CPU 32.9 / 31.8 ms a request (before: 71 / 64)
      HEADLINE text queries as typed   p50  92 /  79   p95  236 /  157   (before: 466 second pass)
        paraphrase / topic / misspelled                p95 155, 160, 156 (second pass)
        no filter                      p50  99 /  84   p95  344 /  156
        category                       p50  80 /  63   p95  177 /  108
        date range                     p50 100 /  93   p95  204 /  160
        category + dates               p50  99 /  91   p95  277 /  200
      id lookups                       p50  18 /  22   p95   47 /   52
      copied from papers (old mix)     p50  74 /  69   p95  223 /  127

Where the time went and goes (``search_profile.py``, the same mix in process, CPU per query): at
1 M the dense half of a filtered search spent 53-182 ms of CPU gathering each vector of the filter
from the mapped HNSW file (~3 us each) after listing the filter's ids in SQL, and the API spent
~15 ms of an unfiltered search marking snippets it never shows; now a whole search costs 15-35 ms
of CPU (figures in that script's docstring). Wall time here is ~2-3x the CPU by the load: the
50 ms p95 target is still not met on this machine at load 7-9; the CPU per search says a quiet
2-core machine would be near it (p95 of the CPU alone: see ``search_profile.py``). The first pass
has the outliers of each category's first use (its rows read from ``paper_categories`` and its
codes copied into a block, ~0.3-0.9 s at this load) and of the load.

Filtered search planned by the filter's size (search/dense.py, search/filters.py), measured
2026-12-02 18:45 on the shared 2-core machine at load 9.9 / 9.2 (two other 1 M servers and test
suites running), 1 M papers (HNSW + its int8 codes), p50 / p95 in ms, first pass / second:

    1 M (HNSW), server CPU 128 / 60 ms a request (whole mix; before: 309 / 311)
      HEADLINE text queries as typed   p50 229 / 176   p95 4497 /  983
        paraphrase / topic / misspelled                p95 983, 568, 1227 (second pass)
        no filter                      p50 200 / 139   p95 1015 /  239
        category                       p50 282 / 205   p95 4539 /  679
        date range                     p50 229 / 196   p95 3464 /  332
        category + dates               p50 414 / 318   p95 5275 / 1227
      id lookups                       p50  32 /  28   p95   60 /   56
      copied from papers (old mix)     p50 142 /  96   p95  387 /  163

The first pass paid for the int8 codes of the million vectors (made on a background thread when
the first narrow filter came: ~60 s of Python at that load, slowing every request meanwhile; a
served index now starts them as it opens) and for the first counts per category and per day;
the second pass is the steady state. Against the run below (load 7.7 / 6.0, main before this
change): category p50 2275 -> 205 ms, p95 4833 -> 679 ms; date range p95 771 -> 332 ms; category +
dates p95 8292 -> 1227 ms; headline p95 4833 -> 983 ms. Every row still has outliers of seconds (max
6.5-8 s, unfiltered and id lookups included) from the machine's load; the 50 ms p95 target was
not reached on this machine (its unfiltered rows were ~3x over it at this load before too). In
process (the dense and keyword halves alone, 5 queries each, load 13-17 after / 7-10 before):
cs.LG dense 1.9-5.8 s -> 12-85 ms, keyword 2.0-2.6 s -> 30-40 ms; cs.RO (4.4 % of papers) dense
1.0-4.6 s -> 176-228 ms; 30 days dense 0.7-1.1 s -> 40-70 ms; cs.CV + 90 days dense 5.2-7.2 s ->
91-166 ms, keyword 2.6-6.4 s -> 14-96 ms.

Measured 2026-12-02 on the shared 2-core machine, loaded by other engineers (load average quoted
per run; the figures are slower than a quiet machine's by the load, but the ratios between rows
hold), before the change above. 1 M: the HNSW graph was built by a first start (~50 min at load 10-13, 916 MB saved),
then this run loaded it. p50 / p95 in ms, first pass (query embeddings new) / second (cached):

    33 k (exact index), load 7.7 / 8.4, server CPU 71 / 64 ms a request (whole mix)
      HEADLINE text queries as typed   p50 168 / 172   p95  382 /  466
        paraphrase / topic / misspelled                p95 368, 391, 382 (first pass)
        no filter                      p50 131 / 146   p95  174 /  200
        category                       p50 198 / 240   p95  500 /  540
        date range                     p50 212 / 231   p95  368 /  350
        category + dates               p50 265 / 321   p95  560 /  529
        page p=0 / 1 / 2                               p95 370, 500, 391 (first pass)
      id lookups                       p50  20 /  21   p95   33 /   45
      copied from papers (old mix)     p50  97 /  94   p95  155 /  143

    1 M (HNSW), load 7.7 / 6.0, server CPU 309 / 311 ms a request (whole mix)
      HEADLINE text queries as typed   p50 550 / 548   p95 5189 / 4833
        paraphrase / topic / misspelled                p95 5022, 6775, 5173 (first pass)
        no filter                      p50 101 /  87   p95  153 /  159
        category                       p50 2512 / 2275 p95 5189 / 4833
        date range                     p50 547 / 536   p95  785 /  771
        category + dates               p50 4279 / 3088 p95 7496 / 8292
        page p=0 / 1 / 2                               p95 5189, 5022, 5927 (first pass)
      id lookups                       p50  21 /  23   p95   43 /   36
      copied from papers (old mix)     p50  75 /  57   p95  146 /  109

What users see at 1 M is not what the old mix showed: its p95 (109-146 ms here, 47.7 ms on a quiet
machine on 2026-11-28) is an unfiltered query whose words are all in the index. Queries as people
type them are about as fast without a filter (p95 153-159 ms), but a **category filter** costs
seconds (p50 2.3-2.5 s, p95 4.8-5.2 s; with a date range as well up to 8.3 s) and a date range
alone ~0.5 s (p95 0.8 s): the filtered paths of search (``search/dense.py``: over-fetching from
HNSW, then an exact pass over every paper in the filter; and the keyword side's category
subquery) grow with the papers a filter leaves, and the benchmark's categories (cs.LG, cs.CV,
cs.CL, ...) are among arXiv's largest. The 50 ms p95 target holds for unfiltered queries only (on
a quiet machine); filtered search at 1 M is an open problem. At 33 k a filter roughly doubles or
triples the p95 of an unfiltered query (the exact index scans 33 k vectors either way); the other
33 k run, at load 10-12, gave headline p95 882 / 762 ms. Each size ran twice (1 M: a first,
load 8.0 / 6.7, gave headline p95 6904 / 4148 ms, category p50 2.8 / 1.8 s); the better run is
quoted.

Earlier, measured 2026-11-28 on the quiet 2-core machine (load average ~1.5), after keyword
search got its reading budget (search/fts.py: POSTINGS_BUDGET, phrases without their very common words) and with
the fused int8 query encoder at 224 tokens. Building the 1 M database took 693 s (rows and vectors
431 s, keyword index 262 s; 5.1 GiB); the first start at 1 M built the HNSW graph in ~8 min (saved,
later starts take seconds). All 200 queries, cold / cached query embeddings:

    33 k (exact index)   p50 25.5 / 17.4 ms   p95 41.9 / 34.1 ms   server CPU 46 / 33 ms a request
    1 M  (HNSW)          p50 26.6 / 27.1 ms   p95 47.7 / 39.2 ms   server CPU 23 / 23 ms a request
    1 M by kind (cold)   short p95 37.8, long p95 52.7, phrase p95 39.3, id p95 8.5 ms

(Server CPU counts every thread: at 33 k the exact index's matrix product runs on both cores.)
The 50 ms p95 target is met at 1 M. Before the budget (2026-11-28, same machine) 1 M gave p95
123.7 ms: long queries 205 ms and phrases 135 ms, FTS5's BM25 counting every paper that holds each
query word, and phrases of common words reading most of the index.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import numpy as np
from _search_corpus import CACHE, cached_embeddings, corpus_data_dir
from _server import free_port, percentile, tree_cpu_seconds, wait_until_up
from _user_queries import CATEGORIES, PARAPHRASES, TOPICS, misspelled

from dailypapers.embeddings import paper_text
from dailypapers.embeddings.text import text_digest

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
NOISE = 0.018  # per-dimension sigma for 384-d unit vectors: cosine ~0.94 to the source vector
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def _size(path: Path) -> str:
    total = sum(f.stat().st_size for f in path.glob("dailypapers.db*"))
    return f"{total / 2**30:.2f} GiB"


def _copy_db(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with (
        sqlite3.connect(source / "dailypapers.db") as src,
        sqlite3.connect(target / "dailypapers.db") as dst,
    ):
        src.backup(dst)


def real_vectors() -> dict[str, np.ndarray]:
    """arXiv id -> real MiniLM vector: the whole embedding cache, or what exists so far (the
    cache's checkpoint, search_quality.py's corpus)."""
    full = cached_embeddings(MODEL, "onnx") or cached_embeddings(MODEL, "torch")
    if full is not None:
        return dict(zip(full[0], full[1], strict=True))
    found: dict[str, np.ndarray] = {}
    for path in sorted(CACHE.glob("quality-corpus-*.npy")):
        keys = json.loads(path.with_suffix(".keys.json").read_text())
        found.update(zip(keys, np.load(path), strict=True))
    partial = cached_embeddings(MODEL, "onnx", partial=True)
    if partial is not None:
        found.update(zip(partial[0], partial[1], strict=True))
    if not found:
        sys.exit("no vectors: run benchmarks/embed_cache.py (or search_quality.py) first")
    print(f"no full embedding cache: {len(found):,} real vectors, the rest drawn near them")
    return found


def _noisy(rng: np.random.Generator, sources: np.ndarray) -> np.ndarray:
    out = sources + rng.normal(0, NOISE, size=sources.shape).astype(np.float32)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _write_vectors(
    db: sqlite3.Connection, rows: list[tuple[int, str, str]], vectors: np.ndarray
) -> None:
    now = "2025-07-05 00:00:00"
    db.executemany(
        "INSERT INTO paper_embeddings(paper_id, model, dim, vector, text_digest, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            (pid, MODEL, vectors.shape[1], vectors[i].astype("<f4").tobytes(),
             text_digest(paper_text(title, abstract)), now)
            for i, (pid, title, abstract) in enumerate(rows)
        ),
    )  # fmt: skip


def build_33k(real: dict[str, np.ndarray], rebuild: bool) -> Path:
    target = CACHE / "latency-33k"
    if (target / "built").exists() and not rebuild:
        return target
    for old in target.glob("dailypapers.db*"):
        old.unlink()
    start = time.monotonic()
    _copy_db(corpus_data_dir(), target)
    rng = np.random.default_rng(33)
    with sqlite3.connect(target / "dailypapers.db") as db:
        db.execute("DELETE FROM paper_embeddings")
        rows = db.execute("SELECT id, arxiv_id, title, abstract FROM papers").fetchall()
        seeds = np.stack(list(real.values()))
        vectors = np.stack(
            [real[a] if a in real else _noisy(rng, seeds[rng.integers(len(seeds))][None])[0]
             for _, a, _, _ in rows]
        )  # fmt: skip
        _write_vectors(db, [(r[0], r[2], r[3]) for r in rows], vectors)
        done = sum(1 for r in rows if r[1] in real)
    (target / "built").write_text(f"{done} real vectors of {len(rows)}\n")
    print(
        f"built latency-33k in {time.monotonic() - start:.0f} s ({_size(target)}; "
        f"{done:,} real vectors, {len(rows) - done:,} drawn near them)",
        flush=True,
    )
    return target


def _synthetic(
    templates: list[tuple[int, str, str, str, str]], vocabulary: list[str], count: int, seed: int
) -> Iterator[tuple[tuple[object, ...], int]]:
    """(flat paper row, index of its template) for ``count`` synthetic papers."""
    rng = random.Random(seed)
    first = date(2015, 1, 1)
    for number in range(count):
        t = rng.randrange(len(templates))
        _, title, abstract, categories, authors = templates[t]
        words = title.split()
        words[rng.randrange(len(words))] = rng.choice(vocabulary)
        body = abstract.split()
        for _ in range(max(1, len(body) // 10)):
            body[rng.randrange(len(body))] = rng.choice(vocabulary)
        day = first + timedelta(days=rng.randrange(3650))
        # 2015-2018 ids with numbers from 50000: arXiv never gave those out then (and real
        # replacements of old papers appear in the listings)
        month = number // 20_000
        arxiv_id = f"{15 + month // 12:02d}{1 + month % 12:02d}.{50_000 + number % 20_000:05d}"
        cats = categories.split()
        row = (arxiv_id, 1, " ".join(words), " ".join(body), authors, categories, cats[0],
               day.isoformat(), day.isoformat(), day.isoformat(), 1)  # fmt: skip
        yield row, t


def build_1m(base: Path, papers: int, rebuild: bool) -> Path:
    target = CACHE / f"latency-{papers // 1000}k"
    if (target / "built").exists() and not rebuild:
        return target
    for old in target.glob("dailypapers.db*"):
        old.unlink()
    start = time.monotonic()
    _copy_db(base, target)
    rng = np.random.default_rng(1)
    with sqlite3.connect(target / "dailypapers.db") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        templates = db.execute(
            "SELECT id, title, abstract, categories, authors FROM papers"
        ).fetchall()
        vector_of = dict(
            (r[0], np.frombuffer(r[1], "<f4"))
            for r in db.execute("SELECT paper_id, vector FROM paper_embeddings")
        )
        vocabulary = sorted(
            {w for t in templates[:5000] for w in t[2].split() if w.isalpha() and len(w) > 3}
        )
        missing = papers - len(templates)
        next_id = int(db.execute("SELECT max(id) FROM papers").fetchone()[0]) + 1
        batch: list[tuple[tuple[object, ...], int]] = []
        generator = _synthetic(templates, vocabulary, missing, seed=7)
        while True:
            batch = [item for _, item in zip(range(50_000), generator, strict=False)]
            if not batch:
                break
            ids = list(range(next_id, next_id + len(batch)))
            next_id += len(batch)
            db.executemany(
                "INSERT INTO papers(id, arxiv_id, version, title, abstract, authors, categories, "
                "primary_category, published, updated, announced_on, announce_estimated, upvotes, "
                "created_at, modified_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,"
                "CURRENT_TIMESTAMP,CURRENT_TIMESTAMP)",
                ((pid, *row) for pid, (row, _) in zip(ids, batch, strict=True)),
            )
            db.executemany(
                "INSERT INTO paper_categories(category, paper_id) VALUES (?, ?)",
                (
                    (c, pid)
                    for pid, (row, _) in zip(ids, batch, strict=True)
                    for c in set(str(row[5]).split())
                ),
            )
            sources = np.stack([vector_of[templates[t][0]] for _, t in batch])
            _write_vectors(
                db,
                [(pid, str(row[2]), str(row[3])) for pid, (row, _) in zip(ids, batch, strict=True)],
                _noisy(rng, sources),
            )
            db.commit()
            print(f"  {next_id:,} papers ({time.monotonic() - start:.0f} s)", end="\r", flush=True)
        rows_done = time.monotonic() - start
        db.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', 67108864)")
        db.execute(
            "INSERT INTO papers_fts(rowid, title, abstract, authors) "
            "SELECT id, title, abstract, authors FROM papers WHERE id > "
            "(SELECT coalesce(max(rowid), 0) FROM papers_fts_docsize)"
        )
        db.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', 1048576)")
        db.commit()
        db.execute("INSERT INTO papers_fts(papers_fts) VALUES ('optimize')")
        db.commit()
    (target / "built").write_text("ok\n")
    print(
        f"\nbuilt {target.name}: {papers:,} papers in {time.monotonic() - start:.0f} s "
        f"(rows and vectors {rows_done:.0f} s, keyword index the rest; {_size(target)})",
        flush=True,
    )
    return target


Request = tuple[str, dict[str, str]]  # (kind, query parameters)


def copied_queries(data_dir: Path, count: int, seed: int) -> dict[str, list[str]]:
    """``count`` distinct queries per kind (short, long, phrase, id), drawn from real papers."""
    rng = random.Random(seed)
    with sqlite3.connect(data_dir / "dailypapers.db") as db:
        rows = db.execute(
            "SELECT arxiv_id, title, abstract FROM papers WHERE arxiv_id LIKE '25%'"
        ).fetchall()
    picks = rng.sample(rows, 4 * count)
    stop = {"with", "from", "that", "this", "their", "into", "using", "for", "and", "the"}
    out: dict[str, list[str]] = {"short": [], "long": [], "phrase": [], "id": []}
    for i, (arxiv_id, title, abstract) in enumerate(picks):
        words = [w.strip(":,.?()").lower() for w in title.split()]
        words = [w for w in words if len(w) > 3 and w not in stop and w.isalpha()] or ["learning"]
        kind = ("short", "long", "phrase", "id")[i % 4]
        if kind == "short":
            out[kind].append(" ".join(rng.sample(words, min(len(words), rng.choice((1, 2, 2, 3))))))
        elif kind == "long":
            sentences = _SENTENCE_END.split(" ".join(abstract.split()))
            out[kind].append(max(sentences[:4], key=len)[:300])
        elif kind == "phrase":
            start = rng.randrange(max(1, len(title.split()) - 2))
            out[kind].append('"' + " ".join(title.split()[start : start + 2]) + '"')
        else:
            out[kind].append(rng.choice((arxiv_id, f"https://arxiv.org/abs/{arxiv_id}v2",
                                         f"arXiv:{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}")))  # fmt: skip
    return {kind: values[:count] for kind, values in out.items()}


def user_requests(data_dir: Path, count: int, seed: int, ids: list[str]) -> list[Request]:
    """What users send: ``count`` paraphrases, topic phrases and misspelled queries (none copied
    from a paper; benchmarks/_user_queries.py), each with the API's default limit and a mix of
    filters (none 40%, a category 30%, a date range 20%, both 10%) and pages (p=0 60%, p=1 25%,
    p=2 15%); plus the id lookups, unfiltered, first page."""
    rng = random.Random(seed)
    with sqlite3.connect(data_dir / "dailypapers.db") as db:
        first, last = (date.fromisoformat(d) for d in db.execute(
            "SELECT min(announced_on), max(announced_on) FROM papers").fetchone())  # fmt: skip
    texts = {
        "paraphrase": rng.sample(PARAPHRASES, min(count, len(PARAPHRASES))),
        "topic": rng.sample(TOPICS, min(count, len(TOPICS))),
        "misspelled": misspelled(count, seed),
    }
    out: list[Request] = []
    for kind, values in texts.items():
        for q in values:
            params = {"q": q}
            draw = rng.random()
            if draw >= 0.4 and (draw < 0.7 or draw >= 0.9):
                params["category"] = rng.choice(CATEGORIES)
            if draw >= 0.7:
                days = rng.choice((30, 90, 365))
                start = first + timedelta(days=rng.randrange(max(1, (last - first).days - days)))
                params["from"], params["to"] = str(start), str(start + timedelta(days=days))
            page = rng.random()
            if page >= 0.6:
                params["p"] = "1" if page < 0.85 else "2"
            out.append((kind, params))
    out += [("id", {"q": q}) for q in ids]
    return out


def variants(params: dict[str, str]) -> tuple[str, str]:
    """Which filters and which page a request has, for the breakdown."""
    filters = tuple(name for name in ("category", "from") if name in params)
    label = {(): "no filter", ("category",): "category", ("from",): "date range"}.get(
        filters, "category + dates"
    )
    return label, f"page p={params.get('p', '0')}"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(data_dir: Path, vector_index: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DAILYPAPERS_JOBS_IN_WEB": "false",
        "DAILYPAPERS_VECTOR_INDEX": vector_index,
        "HF_HUB_OFFLINE": "1",
        "PYTHONFAULTHANDLER": "1",
    }
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dailypapers", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        # a paper, not the daily feed: at 1 M papers the feed query is slow (see the report)
        with sqlite3.connect(data_dir / "dailypapers.db") as db:
            first = db.execute("SELECT arxiv_id FROM papers ORDER BY id LIMIT 1").fetchone()[0]
        up = wait_until_up(f"{base}/api/papers/{first}", process, timeout=300)
        print(f"server answered after {up:.1f} s", flush=True)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _get(client: httpx.Client, url: str, **kw: object) -> httpx.Response:
    """GET, sent again once when the server had just closed the kept-alive connection (at load
    ~20 its idle timer fires while a request is on the way: 'connection reset by peer')."""
    try:
        return client.get(url, **kw)  # type: ignore[arg-type]
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return client.get(url, **kw)  # type: ignore[arg-type]


def warm_up(client: httpx.Client, warm: list[str]) -> None:
    """Until search by meaning is ready (index loaded, model warm), then a few more queries."""
    start = time.monotonic()
    while time.monotonic() - start < 2400:  # at 1 M the first start builds the HNSW graph
        page = _get(client, "/search", params={"q": "warm up the model"}, timeout=600)
        if page.status_code == 200 and "Search by meaning is" not in page.text:
            break
        time.sleep(0.5)
    print(f"semantic search ready after {time.monotonic() - start:.1f} s", flush=True)
    for query in warm:
        _get(client, "/api/papers/search", params={"q": query})


USER_KINDS = ("paraphrase", "topic", "misspelled")


def _line(label: str, values: list[float]) -> str:
    return (
        f"    {label:28s} n={len(values):3d}  p50 {percentile(values, 0.5):6.1f} ms  "
        f"p95 {percentile(values, 0.95):6.1f} ms  max {max(values):6.1f} ms"
    )


def wait_for_catalogue(log: Path, timeout: float = 300) -> None:
    """Until the server's filter catalogue is built (search/catalogue.py logs it): filtered
    searches use the slower SQL plan until then (~10-60 s at 1 M papers, by the load)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if "filter catalogue:" in log.read_text(errors="replace"):
            print(f"filter catalogue ready after {time.monotonic() - start:.1f} s", flush=True)
            return
        time.sleep(1)
    print("filter catalogue not ready: filtered searches measured on the SQL plan", flush=True)


def measure(
    base: str,
    pid: int,
    user: list[Request],
    copied: list[Request],
    warm: list[str],
    passes: int,
    log: Path | None = None,
    db_pid: int | None = None,
    warm_filters: bool = True,
    busy: list[str] | None = None,
) -> None:
    """Each pass sends every request once, in a shuffled order (the first pass with every query's
    embedding new to the server), and prints the headline (text queries as users type them),
    their breakdown, the id lookups apart, and the old mix copied from indexed papers. ``log``:
    the server's log, to wait for its filter catalogue first (on both backends); ``db_pid``: the
    database server's, to count its CPU too;
    ``warm_filters``: use every category once, with a warm-up query, before measuring (a server
    that has run a while has: the first use of a category builds its rows, ~0.3 s once at 1 M), so
    the first pass is what a user's new query meets; without it, the first pass is a cold start.
    ``busy``: other searches sent before measuring (``--warm-searches``), so that the first pass
    meets a server that has answered a while (its mapped files' pages touched, its caches filled)
    and differs from the second only in its queries' embeddings being new."""
    with httpx.Client(base_url=base, timeout=60) as client:
        warm_up(client, warm)
        if log is not None:
            wait_for_catalogue(log)
        if warm_filters:
            for n, category in enumerate(CATEGORIES):
                params = {"q": warm[n % len(warm)], "category": category}
                _get(client, "/api/papers/search", params=params)
        for query in busy or []:
            _get(client, "/api/papers/search", params={"q": query})
        first = "new queries" + ("" if warm_filters else ", each category's first use")
        first += f", after {len(busy)} other searches" if busy else ""
        for attempt in range(passes):
            label = first if attempt == 0 else "queries cached"
            order = [(True, *r) for r in user] + [(False, *r) for r in copied]
            random.Random(5 + attempt).shuffle(order)
            times: dict[tuple[bool, str], list[float]] = {}
            by_variant: dict[str, list[float]] = {}
            empty = 0
            cpu = _cpu_seconds(pid)
            db_cpu = tree_cpu_seconds(db_pid) if db_pid else 0.0
            for is_user, kind, params in order:
                start = time.perf_counter()
                response = _get(client, "/api/papers/search", params=params)
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, (params, response.status_code)
                times.setdefault((is_user, kind), []).append(elapsed)
                if is_user and kind in USER_KINDS:
                    for name in variants(params):
                        by_variant.setdefault(name, []).append(elapsed)
                    empty += not response.json()
            cpu_ms = (_cpu_seconds(pid) - cpu) * 1000 / len(order)
            typed = [t for kind in USER_KINDS for t in times[(True, kind)]]
            load = os.getloadavg()[0]
            db = ""
            if db_pid:
                db_ms = (tree_cpu_seconds(db_pid) - db_cpu) * 1000 / len(order)
                db = f", database CPU {db_ms:.1f} ms/request"
            print(
                f"  pass {attempt + 1} ({label}), server CPU {cpu_ms:.1f} ms/request{db}, "
                f"load {load:.1f}"
            )
            print(_line("HEADLINE text queries", typed) + f"  ({empty} answered with no paper)")
            for kind in USER_KINDS:
                print(_line(f"  {kind}", times[(True, kind)]))
            for name in ("no filter", "category", "date range", "category + dates") + tuple(
                f"page p={p}" for p in range(3)
            ):
                if name in by_variant:
                    print(_line(f"  {name}", by_variant[name]))
            print(_line("id lookups", times[(True, "id")]))
            copied_kinds = [k for u, k in times if not u]
            old = [t for kind in copied_kinds for t in times[(False, kind)]]
            print(_line("copied from papers (old mix)", old) + "  (limit=20, no filters)")
            for kind in copied_kinds:
                print(_line(f"  {kind}", times[(False, kind)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=["33k", "1m", "both"], default="both")
    parser.add_argument("--papers", type=int, default=1_000_000, help="size of the big database")
    parser.add_argument("--queries", type=int, default=50, help="queries per kind")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="200k papers, 25 queries per kind")
    parser.add_argument("--rebuild", action="store_true", help="build the databases again")
    parser.add_argument("--build-only", action="store_true", help="build, do not measure")
    parser.add_argument(
        "--vector-index",
        choices=["auto", "exact", "exact-int8", "hnsw"],
        default="auto",
        help="DAILYPAPERS_VECTOR_INDEX for the server",
    )
    parser.add_argument(
        "--cold-filters",
        action="store_true",
        help="measure the first pass without using each category once first (a cold start)",
    )
    parser.add_argument(
        "--warm-searches",
        type=int,
        default=0,
        help="send this many other searches (copied from papers) before measuring",
    )
    args = parser.parse_args()
    if args.quick:
        args.papers, args.queries = min(args.papers, 200_000), min(args.queries, 25)
    small = (
        build_33k(real_vectors(), args.rebuild)
        if args.rebuild or not (CACHE / "latency-33k" / "built").exists()
        else CACHE / "latency-33k"
    )
    targets = [small] if args.size == "33k" else []
    if args.size in ("1m", "both"):
        targets.append(build_1m(small, args.papers, args.rebuild))
    if args.size == "both":
        targets.insert(0, small)
    if args.build_only:
        return
    copied = copied_queries(small, args.queries, seed=11)
    old_mix = [
        (kind, {"q": q, "limit": "20"}) for kind, values in copied.items() if kind != "id"
        for q in values
    ]  # fmt: skip
    warm = [q for values in copied_queries(small, 5, seed=99).values() for q in values]
    others = copied_queries(small, args.warm_searches // 3 + 1, seed=77)
    busy = [q for kind, values in others.items() if kind != "id" for q in values]
    busy = busy[: args.warm_searches]
    for data_dir in targets:
        with sqlite3.connect(data_dir / "dailypapers.db") as db:
            n = db.execute("SELECT count(*) FROM papers").fetchone()[0]
        print(f"\n{data_dir.name}: {n:,} papers, {_size(data_dir)}", flush=True)
        user = user_requests(data_dir, args.queries, seed=13, ids=copied["id"])
        with serve(data_dir, args.vector_index) as (base, pid):
            measure(
                base, pid, user, old_mix, warm, args.passes, data_dir / "serve.log",
                warm_filters=not args.cold_filters, busy=busy,
            )  # fmt: skip
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
