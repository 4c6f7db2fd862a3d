"""Spelling suggestions from the corpus's own words: "Did you mean *transformer*?".

:class:`Vocabulary` counts the words (lower-case ASCII letters, 3 to 30 of them) of the titles
and abstracts of the newest :data:`VOCABULARY_PAPERS` papers, keeping those seen at least
:data:`MIN_COUNT` times (a typo that a few abstracts share stays unknown), and knows the words of
their authors' names. A trigram index over the words (``$tr``, ``tra``, …, padded) finds the
candidates for an unknown word; the suggestion is the candidate at the smallest edit distance
(Damerau-Levenshtein: a swap of two letters is one edit), the most frequent among equals. A word
of 6 letters or fewer is corrected only by one edit, longer ones by up to two, and only to a word
with the same first letter or with the word's first two letters swapped ("miage" -> "image";
other typos rarely hit the first letter, and keeping it keeps unrelated words apart). A correction
keeps a capital first letter ("Transfomer" -> "Transformer").

A query gets a suggestion only when it looks like English gone wrong: every word is ASCII, and at
most half of its words (and at least one) are unknown — or more, when each of them is one edit
from a common word ("reinforcment lerning"; :data:`MIN_COUNT_COMMON`, as for any correction by two
edits); a query in another language gets none rather than a wrong one. Numbers, short words, names
and acronyms are left as they are (``Vocabulary._names_in``: "O'Brien", "McDonald", "GRPO", "Yann
LeCunn", an author's "Fei"), and so is a capitalised word near no known word (a name the papers
lack); a query with ``author:``, more than :data:`MAX_CHECKED_WORDS` words or more than
:data:`MAX_UNKNOWN` unknown ones gets none.

Measured by ``benchmarks/spelling_quality.py`` (docs/PERFORMANCE.md, "Search"): 35,350 words from
the 33,641 papers of 2025, built in 1.4 s (a web process reads them from its database first: 6-8 s
with ``search_quality.py --extras``, ~6.6 MB); a suggestion in 0.9 ms (p50), 2.5 ms (p95);
misspelt titles recovered 0.963, hand-written queries with one or two typos 0.96 (topics) and
0.86 (sentences: the rest are typos that made other real words, "modes"); no wrong suggestion
for 41 queries in eight other languages or for 10 names. The vocabulary is read from the newest
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
MAX_UNKNOWN = 3  # words corrected in one query at most
# A word two edits away, or any word of a query whose words are mostly unknown, is corrected only
# to a word this common (the 33,641 papers of 2025: "learning" 28,395, "speculative" 267, "grand"
# 41): foreign words sit near rare English ones more often than near common ones.
MIN_COUNT_COMMON = 100
_WORD = re.compile(r"[a-z]{3,30}")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_NAME = re.compile(r"(?<=['’])[A-Za-z]+|[A-Za-z]+[A-Z][A-Za-z]*")  # O'Brien, McDonald, GRPO


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

    def __init__(self, counts: Counter[str], names: Iterable[str] = ()) -> None:
        kept = sorted(w for w, n in counts.items() if n >= MIN_COUNT)
        self._names = frozenset(names)  # authors' names' words, lower case: never corrected
        self.words = kept
        self.counts = np.array([counts[w] for w in kept], dtype=np.int32)
        self._ids = {w: i for i, w in enumerate(kept)}
        self._first = np.array([ord(w[0]) for w in kept], dtype=np.int32)
        self._second = np.array([ord(w[1]) for w in kept], dtype=np.int32)
        self._length = np.array([len(w) for w in kept], dtype=np.int32)
        lists: dict[str, list[int]] = {}
        for i, word in enumerate(kept):
            for gram in _trigrams(word):
                lists.setdefault(gram, []).append(i)
        self._grams = {g: np.array(ids, dtype=np.int32) for g, ids in lists.items()}

    @classmethod
    def from_texts(cls, texts: Iterable[str], authors: Iterable[str] = ()) -> Vocabulary:
        """The words of ``texts``; the words of the ``authors``' names are known as names."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_WORD.findall(text.lower()))
        names = {w for name in authors for w in _WORD.findall(name.lower())}
        return cls(counts, names)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def correct(self, word: str) -> tuple[int, int, str] | None:
        """(edit distance, count, the best known spelling) of an unknown ``word`` (lower case, 3
        letters or more), or None."""
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
            & (
                (self._first == ord(word[0]))
                | ((self._first == ord(word[1])) & (self._second == ord(word[0])))
            )
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
        return (best[0], -best[1], best[2]) if best else None

    def suggest(self, query: str) -> str | None:
        """The query with its misspelt words corrected, or None (nothing to correct, or a query
        that does not look like English: see the module docstring)."""
        query = query[:500]
        if not query.isascii() or "author:" in query.lower():
            return None
        every = list(_TOKEN.finditer(query))
        names = self._names_in(query, every)
        words = [m for m in every if m.start() not in names]
        words = [m for m in words if m.group().isalpha() and len(m.group()) >= 3]
        unknown = {m.group().lower() for m in words if m.group().lower() not in self}
        if len(words) > MAX_CHECKED_WORDS or len(unknown) > MAX_UNKNOWN:
            return None
        fixes: dict[str, tuple[int, int, str]] = {}
        for word in unknown:
            found = self.correct(word)
            if found is not None:
                fixes[word] = found
            elif all(m.group()[0].isupper() for m in words if m.group().lower() == word):
                words = [m for m in words if m.group().lower() != word]  # a name the papers lack
            else:
                return None
        # more than half the words unknown (one word alone may be): only single typos of common
        # words ("reti neurali" is not "redi neural"); two edits only to a common word
        # ("intelligence artificielle" is not "... artificially")
        mostly_unknown = len(fixes) * 2 > len(words) + 1
        for distance, count, _ in fixes.values():
            if (mostly_unknown and distance > 1) or (
                (mostly_unknown or distance > 1) and count < MIN_COUNT_COMMON
            ):
                return None
        if not fixes:
            return None

        def fix(m: re.Match[str]) -> str:
            found = fixes.get(m.group().lower()) if m.start() not in names else None
            return _same_case(m.group(), found[2]) if found else m.group()

        return _TOKEN.sub(fix, query)

    def _names_in(self, query: str, every: list[re.Match[str]]) -> set[int]:
        """Where the query's names start: a word with a capital inside ("McDonald", "GRPO") or
        after an apostrophe ("O'Brien"), a capitalised word of an author's name in the papers
        ("Fei"), and a capitalised word beside one of those ("Yann LeCunn", "Geoffrey Hinten")."""
        names = {m.start() for m in _NAME.finditer(query)}
        capitals = [(i, m) for i, m in enumerate(every) if m.group()[0].isupper()]
        names |= {m.start() for _, m in capitals if m.group().lower() in self._names}
        beside = {
            m.start()
            for n in (-1, 1)
            for i, m in capitals
            if 0 <= i + n < len(every) and every[i + n].start() in names
        }
        return names | beside


def _same_case(typed: str, word: str) -> str:
    """``word`` with a capital first where ``typed`` has one (words with more are not corrected)."""
    return word.capitalize() if typed[0].isupper() else word


class Spelling:
    """A process's vocabulary, read from the database on a background thread on first use and
    again every :data:`REBUILD_S`; until it is ready there are no suggestions."""

    def __init__(self, read: Callable[[], Vocabulary], *, background: bool = True) -> None:
        self._read = read
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
            vocabulary: Vocabulary | None = self._read()
        except Exception:  # suggestions are a nicety: never let them break search
            log.exception("cannot read the vocabulary for spelling suggestions")
            vocabulary = None
        with self._lock:
            if vocabulary is not None:
                self._vocabulary = vocabulary
            self._built_at = time.monotonic()
            self._building = False
