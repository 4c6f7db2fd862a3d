"""Spelling suggestions on the 2025 listings: typos recovered, other languages and names left alone.

The vocabulary is built as a web process builds it (``Vocabulary.from_texts`` over the titles,
abstracts and authors' names of the newest ``VOCABULARY_PAPERS`` papers: all 33,641 of
``../shared``), then asked:

* **misspelt titles**: ``--titles`` sampled titles with one typo (``_search_extras._typo``: a swap,
  a dropped, doubled or changed letter, not the first) in their longest word of 6+ letters;
  recovered when the suggestion holds the word again (as ``search_quality.py --extras``);
* **misspelt queries**: the hand-written topics and paraphrases of ``_user_queries.py`` (none taken
  from a paper), one or two of their longer words mistyped (``misspelled``: a first letter may be
  swapped with the second); recovered when the suggestion is the query as written (any case);
  queries whose typo made another real word ("modals") cannot be and are counted as missed;
* **other languages** (``OTHER_LANGUAGES`` below: the research topics people search for, in
  German, French, Spanish, Italian, Portuguese, Dutch, Turkish and Indonesian, without accents)
  and **names** (``NAMES``): each suggestion is printed; the target is none, or an English
  equivalent, never a wrong word;
* the time of a suggestion (p50 / p95 over the misspelt queries and titles).

    python benchmarks/spelling_quality.py [--titles 300] [--seed 1]

Older code is measured the same way by putting its ``src`` first (``PYTHONPATH=../old/src``).
Measured figures: docs/PERFORMANCE.md, "Search".
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.append(str(HERE.parent / "src"))  # after PYTHONPATH: older code can be measured
sys.path.insert(0, str(HERE))

from _search_extras import _typo  # noqa: E402
from _user_queries import PARAPHRASES, TOPICS, misspelled  # noqa: E402
from embed_cache import SHARED  # noqa: E402

from dailypapers.search.spelling import VOCABULARY_PAPERS, Vocabulary  # noqa: E402

OTHER_LANGUAGES = [
    "maschinelles lernen",
    "neuronale netze",
    "sprachmodelle",
    "grosse sprachmodelle",
    "spracherkennung",
    "bildverarbeitung kamera",
    "autonomes fahren",
    "medizinische bildgebung",
    "bestaerkendes lernen",
    "kuenstliche intelligenz",
    "wissensgraphen",
    "datenschutz",
    "verarbeitung natuerlicher sprache",
    "apprentissage profond",
    "apprentissage par renforcement",
    "traitement du langage",
    "reconnaissance vocale",
    "vision par ordinateur",
    "voiture autonome",
    "grands modeles de langage",
    "imagerie medicale",
    "intelligence artificielle",
    "optimisation convexe",
    "graphes de connaissances",
    "redes neuronales",
    "aprendizaje automatico",
    "modelos de lenguaje",
    "inteligencia artificial",
    "seguridad informatica",
    "reti neurali",
    "visione artificiale",
    "apprendimento per rinforzo",
    "intelligenza artificiale",
    "ottimizzazione convessa",
    "aprendizado de maquina",
    "diepe neurale netwerken",
    "derin ogrenme",
    "pembelajaran mesin",
    "robotik lernen",
    "conduite autonome",
    "wetter",
]
NAMES = [
    "O'Brien",
    "Yann LeCunn",
    "McDonald",
    "Ada Lovelace",
    "Geoffrey Hinten",
    "Fei-Fei Li",
    "Schmidhuber",
    "D'Amour",
    "van der Maaten",
    "Kaiming He",
]


def listings() -> tuple[list[str], list[str], list[str]]:
    """The newest papers' titles, their titles and abstracts, and their authors' names."""
    first: dict[str, tuple[str, str, list[str]]] = {}
    for path in sorted(SHARED.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                r = json.loads(line)
                first.setdefault(r["id"], (r["title"], r.get("summary") or "", r["authors"]))
    newest = [first[p] for p in sorted(first, reverse=True)[:VOCABULARY_PAPERS]]
    return (
        [title for title, _, _ in newest],
        [f"{title} {abstract}" for title, abstract, _ in newest],
        [name for *_, authors in newest for name in authors],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--titles", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not SHARED.is_dir():
        parser.exit(2, f"no listings at {SHARED}: this benchmark needs ../shared/data\n")
    titles, texts, authors = listings()
    started = time.perf_counter()
    try:
        vocabulary = Vocabulary.from_texts(texts, authors)
    except TypeError:  # code from before 2026-12-04: no authors' names
        vocabulary = Vocabulary.from_texts(texts)
    print(
        f"{len(vocabulary):,} words from {len(texts):,} papers in "
        f"{time.perf_counter() - started:.1f} s"
    )
    times: list[float] = []

    def suggest(query: str) -> str | None:
        t0 = time.perf_counter()
        found = vocabulary.suggest(query)
        times.append(time.perf_counter() - t0)
        return found

    rng = random.Random(args.seed)
    recovered = total = 0
    for title in rng.sample(titles, args.titles):
        words = [w for w in title.split() if w.isalpha() and w.isascii() and len(w) >= 6]
        if not words:
            continue
        word = max(words, key=len)
        suggestion = suggest(title.replace(word, _typo(word.lower(), rng), 1))
        total += 1
        recovered += int(suggestion is not None and word.lower() in suggestion.lower().split())
    print(f"misspelt titles: recovered {recovered / total:.3f} (n={total})")

    count = len(TOPICS) + len(PARAPHRASES)
    typed = misspelled(count, args.seed)
    written = random.Random(args.seed).sample(TOPICS + PARAPHRASES, count)  # as misspelled()
    pairs = [(w, t) for w, t in zip(written, typed, strict=True) if w != t]
    missed = []
    for kind, chosen in (("topics", set(TOPICS)), ("paraphrases", set(PARAPHRASES))):
        of_kind = [(w, t) for w, t in pairs if w in chosen]
        good = 0
        for w, t in of_kind:
            suggestion = suggest(t)
            ok = suggestion is not None and suggestion.lower() == w.lower()
            good += ok
            if not ok:
                missed.append(f"{t!r} -> {suggestion!r}")
        print(f"misspelt {kind}: recovered {good / len(of_kind):.3f} (n={len(of_kind)})")
    print("  missed:\n    " + "\n    ".join(missed))
    for label, queries in (("other languages", OTHER_LANGUAGES), ("names", NAMES)):
        given = [(q, vocabulary.suggest(q)) for q in queries]
        shown = [f"{q!r} -> {s!r}" for q, s in given if s is not None]
        print(f"{label}: {len(shown)} of {len(queries)} get a suggestion")
        if shown:
            print("    " + "\n    ".join(shown))
    times.sort()
    print(
        f"a suggestion: p50 {1000 * times[len(times) // 2]:.2f} ms, "
        f"p95 {1000 * times[int(len(times) * 0.95)]:.2f} ms (n={len(times)})"
    )


if __name__ == "__main__":
    main()
