"""search_quality.py --extras: nonsense strings, author-name queries and misspelt titles, each
through the shipped search service (``search_papers``) on the benchmark's working copy.

* nonsense: 50 random strings (1-3 "words" of 4-12 letters, some digits); how many get any result;
* authors: the first author of 200 sampled papers, asked three ways (as written, ``Last First``,
  ``F. Last``): hit@1 is "the first result is a paper by that author" (the author-index rule), for
  the shipped search and for plain hybrid search (before the author index);
* misspellings: 200 sampled titles with one typo (a swap, a dropped, doubled or changed letter, not
  the first) in their longest word of 6+ letters: "recovered" when the suggestion gives the word
  back, and the known item's hit@10 with and without the retry on the suggestion.
"""

from __future__ import annotations

import random
import string
import sys
import time

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from dailypapers.db.author_index import name_tokens
from dailypapers.db.migrate import upgrade
from dailypapers.db.models import Paper
from dailypapers.search.authors import name_matches
from dailypapers.search.hybrid import Semantic, hybrid_search
from dailypapers.search.spelling import VOCABULARY_PAPERS, Vocabulary
from dailypapers.services.papers import search_facets, search_papers


def _nonsense(rng: random.Random) -> str:
    letters = string.ascii_lowercase
    return " ".join(
        "".join(rng.choice(letters + "0123456789" * (rng.random() < 0.2)) for _ in range(n))
        for n in [rng.randint(4, 12) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    )


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randint(1, len(word) - 2)
    kind = rng.choice(["swap", "drop", "double", "change"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return (
        word[:i] + rng.choice([c for c in string.ascii_lowercase if c != word[i]]) + word[i + 1 :]
    )


def _variants(name: str) -> list[str]:
    parts = name.replace(",", " ").split()
    if len(parts) < 2:
        return [name]
    return [name, f"{parts[-1]} {' '.join(parts[:-1])}", f"{parts[0][0]}. {parts[-1]}"]


def run_extras(
    engine: Engine, semantic: Semantic, sample: list[int], seed: int, queries: list[str] = ()
) -> None:
    start = time.monotonic()
    upgrade(engine)  # the working copy gets the author index (and any newer tables)
    print(f"\nauthor index built in {time.monotonic() - start:.1f} s")
    rng = random.Random(seed)
    with Session(engine) as session:
        junk = [_nonsense(rng) for _ in range(50)]
        found = [q for q in junk if search_papers(session, q, semantic=semantic).total]
        print(f"nonsense: {len(found)} of 50 random strings get any result {found[:5]}")

        rows = [
            (p.id, p.authors, p.title)
            for p in session.scalars(select(Paper).where(Paper.id.in_(sample[:200])))
        ]
        kinds = ("as written", "last first", "initial + last")
        hits = {f"{how}, {kind}": [0, 0] for how in ("shipped", "hybrid only") for kind in kinds}
        times: list[float] = []
        misses: list[str] = []
        for _, authors, _ in rows:
            names = list(authors)
            if not names:
                continue
            tokens = tuple(name_tokens(names[0]))
            for kind, query in zip(kinds, _variants(names[0]), strict=False):
                # an initial names every author it fits (T. Zhou: Tianyi, Tao): the query's rule
                named = tuple(name_tokens(query)) if kind == "initial + last" else tokens
                t0 = time.perf_counter()
                first = search_papers(session, query, semantic=semantic, limit=1).hits
                times.append(time.perf_counter() - t0)
                plain = hybrid_search(session.connection(), query, semantic=semantic, limit=1).ids
                for how, paper in (
                    ("shipped", first[0].paper if first else None),
                    ("hybrid only", session.get(Paper, plain[0]) if plain else None),
                ):
                    by_author = paper is not None and any(
                        name_matches(named, name_tokens(a)) for a in paper.authors
                    )
                    hits[f"{how}, {kind}"][0] += int(by_author)
                    hits[f"{how}, {kind}"][1] += 1
                    if how == "shipped" and not by_author and len(misses) < 8:
                        misses.append(query)
        times.sort()
        for label, (good, n) in hits.items():
            print(f"author queries, {label}: hit@1 {good / max(n, 1):.3f} (n={n})")
        for how in ("shipped", "hybrid only"):
            good = sum(hits[f"{how}, {kind}"][0] for kind in kinds)
            n = sum(hits[f"{how}, {kind}"][1] for kind in kinds)
            print(f"author queries, {how}, all: hit@1 {good / max(n, 1):.3f} (n={n})")
        print(f"  shipped misses, e.g. {misses}")
        if times:
            print(f"  shipped author query p50 {1000 * times[len(times) // 2]:.1f} ms")

        texts = session.execute(
            text("SELECT title, abstract FROM papers ORDER BY id DESC LIMIT :n"),
            {"n": VOCABULARY_PAPERS},
        ).all()
        t0 = time.perf_counter()
        vocabulary = Vocabulary.from_texts(f"{t} {a}" for t, a in texts)
        built = time.perf_counter() - t0
        size = vocabulary_bytes(vocabulary)

        class Fixed:
            def suggest(self, query: str) -> str | None:
                return vocabulary.suggest(query)

        recovered = total = with_retry = without = 0
        suggest_times: list[float] = []
        for paper_id, _, title in rows:
            words = [w for w in title.split() if w.isalpha() and w.isascii() and len(w) >= 6]
            if not words:
                continue
            word = max(words, key=len)
            typo = title.replace(word, _typo(word.lower(), rng), 1)
            total += 1
            t0 = time.perf_counter()
            suggestion = vocabulary.suggest(typo)
            suggest_times.append(time.perf_counter() - t0)
            recovered += int(suggestion is not None and word.lower() in suggestion.lower().split())
            plain = search_papers(session, typo, semantic=semantic, limit=10)
            fixed = search_papers(
                session,
                typo,
                semantic=semantic,
                limit=10,
                spelling=Fixed(),  # type: ignore[arg-type]
            )
            without += int(paper_id in [h.paper.id for h in plain.hits])
            with_retry += int(paper_id in [h.paper.id for h in fixed.hits])
        suggest_times.sort()
        overhead(session, semantic, list(queries)[:100], Fixed())
        print(
            f"misspelt titles: recovered {recovered / max(total, 1):.3f} (n={total}); known item in "
            f"the top 10 {without / max(total, 1):.3f} as typed, {with_retry / max(total, 1):.3f} "
            "with spelling"
        )
        print(
            f"vocabulary: {len(vocabulary):,} words from {len(texts):,} papers in {built:.1f} s, "
            f"{size / 1e6:.1f} MB; "
            f"suggest p50 {1000 * suggest_times[len(suggest_times) // 2]:.2f} ms, "
            f"max {1000 * suggest_times[-1]:.1f} ms"
        )


def vocabulary_bytes(vocabulary: Vocabulary) -> int:
    """About what a vocabulary holds in memory: its word strings, list, dicts and arrays."""
    words = sum(sys.getsizeof(w) for w in vocabulary.words) + sys.getsizeof(vocabulary.words)
    ids = sys.getsizeof(vocabulary._ids)
    grams = sys.getsizeof(vocabulary._grams) + sum(
        sys.getsizeof(g) + a.nbytes + 112 for g, a in vocabulary._grams.items()
    )
    arrays = vocabulary.counts.nbytes + vocabulary._first.nbytes + vocabulary._length.nbytes
    return words + ids + grams + arrays


def overhead(session: Session, semantic: Semantic, queries: list[str], spelling: object) -> None:
    """What the service adds to plain hybrid search per query (author lookup, spelling, marks,
    loading the papers), and facets on top: medians over the same queries, run alternately."""
    plain, before, service, facets = [], [], [], []
    conn = session.connection()
    for query in queries:
        semantic.encoder.encode_query(query)  # both then find it in the encoder's query cache
        t0 = time.perf_counter()
        hybrid_search(conn, query, semantic=semantic, limit=20)
        tb = time.perf_counter()
        search_papers(session, query, semantic=semantic, limit=20)
        before.append(time.perf_counter() - tb)
        t1 = time.perf_counter()
        results = search_papers(session, query, semantic=semantic, spelling=spelling, limit=20)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        search_facets(session, results)
        t3 = time.perf_counter()
        plain.append(t1 - t0)
        service.append(t2 - t1)
        facets.append(t3 - t2)
    if queries:
        mid = len(queries) // 2
        p50 = [1000 * sorted(v)[mid] for v in (plain, before, service, facets)]
        print(
            f"per query (n={len(queries)}, p50): hybrid_search {p50[0]:.1f} ms; search_papers "
            f"(marks, papers, author lookup) {p50[1]:.1f} ms, with spelling {p50[2]:.1f} ms; "
            f"facets {p50[3]:.1f} ms"
        )
