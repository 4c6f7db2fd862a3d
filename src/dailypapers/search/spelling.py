"""Spelling suggestions from the corpus's own words: "Did you mean *transformer*?".

:class:`Vocabulary` counts the words (lower-case ASCII letters, 3 to 30 of them) of the titles
and abstracts of the newest :data:`VOCABULARY_PAPERS` papers, keeping those seen at least
:data:`MIN_COUNT` times (a typo that a few abstracts share stays unknown). A trigram index over
the words (``$tr``, ``tra``, …, padded) finds the candidates for an unknown word; the suggestion is
the candidate at the smallest edit distance (Damerau-Levenshtein: a swap of two letters is one
edit), the most frequent among equals. A word of 6 letters or fewer is corrected only by one edit,
longer ones by up to two, and only to a word with the same first letter (typos rarely hit it,
and it keeps unrelated words apart).

A query gets a suggestion only when it looks like English gone wrong: every word is ASCII, at most
half of its words (and at least one) are unknown; so a query in another language gets none
rather than a wrong one. Numbers and short words are left as they are; a query with ``author:``,
more than :data:`MAX_CHECKED_WORDS` words or more than :data:`MAX_UNKNOWN` unknown ones gets none.

Measured by ``benchmarks/search_quality.py --extras`` (docs/PERFORMANCE.md, "Search"): 35,351
words from the 33,641 papers of 2025 in ~6.6 MB, read in 6-8 s; a suggestion in 2.7 ms (p50),
16 ms (p95); misspelt titles recovered 0.94. The vocabulary is read from the newest
:data:`VOCABULARY_PAPERS` papers, so its size and cost stay the same at 1 M papers.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

log = logging.getLogger(__name__)

VOCABULARY_PAPERS = 50_000
MIN_COUNT = 3
REBUILD_S = 6 * 3600.0
# Edit distances computed for one word at most (those sharing the most trigrams with it), ~50 us
# each in Python; the longest query that is checked, and the most unknown words corrected in one
# (a sentence-long query with many names and terms cost up to ~90 ms without these bounds).
MAX_CANDIDATES = 100
MAX_CHECKED_WORDS = 30
MAX_UNKNOWN = (
    3  # words corrected in one query at most  # a process re-reads the vocabulary this often
)
_WORD = re.compile(r"[a-z]{3,30}")
_TOKEN = re.compile(r"[A-Za-z0-9]+")


def _trigrams(word: str) -> set[str]:
    padded = f"${word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), or ``limit + 1`` once over it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Vocabulary:
    """Words and their counts, with a trigram index to find near spellings."""

    def __init__(self, counts: Counter[str]) -> None:
        kept = sorted(w for w, n in counts.items() if n >= MIN_COUNT)
        self.words = kept
        self.counts = np.array([counts[w] for w in kept], dtype=np.int32)
        self._ids = {w: i for i, w in enumerate(kept)}
        self._first = np.array([ord(w[0]) for w in kept], dtype=np.int32)
        self._length = np.array([len(w) for w in kept], dtype=np.int32)
        lists: dict[str, list[int]] = {}
        for i, word in enumerate(kept):
            for gram in _trigrams(word):
                lists.setdefault(gram, []).append(i)
        self._grams = {g: np.array(ids, dtype=np.int32) for g, ids in lists.items()}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_WORD.findall(text.lower()))
        return cls(counts)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def correct(self, word: str) -> str | None:
        """The best known spelling of an unknown ``word`` (lower case), or None."""
        limit = 1 if len(word) <= 6 else 2
        grams = _trigrams(word)
        found = [self._grams[g] for g in grams if g in self._grams]
        if not found or not self.words:
            return None
        shared = np.bincount(np.concatenate(found), minlength=len(self.words))
        need = max(1, len(grams) - 4 * limit)  # an edit breaks at most four trigrams (a swap)
        best: tuple[int, int, str] | None = None
        near = (
            (shared >= need)
            & (self._first == ord(word[0]))
            & (np.abs(self._length - len(word)) <= limit)
        )
        candidates = np.flatnonzero(near)
        if len(candidates) > MAX_CANDIDATES:  # the most shared trigrams first: bounded time
            best_shared = np.argpartition(-shared[candidates], MAX_CANDIDATES)[:MAX_CANDIDATES]
            candidates = candidates[best_shared]
        for i in candidates.tolist():
            candidate = self.words[i]
            distance = edit_distance(word, candidate, limit)
            if distance <= limit:
                key = (distance, -int(self.counts[i]), candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else None

    def suggest(self, query: str) -> str | None:
        """The query with its misspelt words corrected, or None (nothing to correct, or a query
        that does not look like English: see the module docstring)."""
        query = query[:500]
        if not query.isascii() or "author:" in query.lower():
            return None
        words = [w for w in _TOKEN.findall(query) if w.isalpha() and len(w) >= 3]
        if len(words) > MAX_CHECKED_WORDS:
            return None
        unknown = {w.lower() for w in words if w.lower() not in self}
        if not unknown or len(unknown) * 2 > len(words) + 1:  # one word alone may be unknown
            return None
        if len(unknown) > MAX_UNKNOWN:
            return None
        fixes: dict[str, str] = {}
        for word in unknown:
            fixed = self.correct(word)
            if fixed is None:
                return None
            fixes[word] = fixed
        return _TOKEN.sub(lambda m: fixes.get(m.group().lower(), m.group()), query)


class Spelling:
    """A process's vocabulary, read from the database on a background thread on first use and
    again every :data:`REBUILD_S`; until it is ready there are no suggestions."""

    def __init__(self, read_texts: Callable[[], Iterable[str]], *, background: bool = True) -> None:
        self._read_texts = read_texts
        self._background = background
        self._lock = threading.Lock()
        self._vocabulary: Vocabulary | None = None
        self._built_at: float | None = None  # monotonic time of the last read
        self._building = False

    def vocabulary(self) -> Vocabulary | None:
        with self._lock:
            stale = self._built_at is None or time.monotonic() - self._built_at > REBUILD_S
            start = stale and not self._building
            if start:
                self._building = True
        if start:
            if self._background:
                threading.Thread(target=self._build, name="build-vocabulary", daemon=True).start()
            else:
                self._build()
        return self._vocabulary

    def suggest(self, query: str) -> str | None:
        vocabulary = self.vocabulary()
        return vocabulary.suggest(query) if vocabulary is not None else None

    def _build(self) -> None:
        try:
            vocabulary = Vocabulary.from_texts(self._read_texts())
        except Exception:  # suggestions are a nicety: never let them break search
            log.exception("cannot read the vocabulary for spelling suggestions")
            vocabulary = None
        with self._lock:
            if vocabulary is not None:
                self._vocabulary = vocabulary
            self._built_at = time.monotonic()
            self._building = False
