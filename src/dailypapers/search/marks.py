"""Mark the query's words in a result's title and pick the abstract passage that holds most of them.

Pure functions on the text already loaded for the page: FTS5's ``highlight()`` / ``snippet()`` had to
re-run the full-text query for every shown paper (tens of milliseconds for long queries on a large
index). Words are compared by a light stem (lower case, no accents, common English endings cut),
close to the index's Porter stemming (``networks`` marks ``network``). Marks are
:data:`~dailypapers.search.fts.HIT_START` / ``HIT_END``; the web layer escapes the text first and
then turns them into ``<mark>``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from dailypapers.rendering.math import MATH_RE
from dailypapers.search.fts import HIT_END, HIT_START

SNIPPET_WORDS = 40
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ENDINGS = ("ations", "ation", "ings", "ing", "ies", "ers", "er", "es", "ed", "ly", "s")


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A light stem: lower case without accents, one common English ending removed."""
    if word.isascii():  # most words: nothing to fold
        base = word.lower()
    else:
        folded = unicodedata.normalize("NFKD", word.lower())
        base = "".join(c for c in folded if not unicodedata.combining(c))
    for ending in _ENDINGS:
        if base.endswith(ending) and len(base) - len(ending) >= 3:
            return base[: -len(ending)]
    return base


def query_stems(query: str) -> frozenset[str]:
    """The stems of the query's words (quotes and operators are just punctuation here)."""
    return frozenset(stem(w) for w in _WORD.findall(query[:4096]))


def _marked(text: str, stems: frozenset[str]) -> tuple[str, int]:
    text = text.replace(HIT_START, "").replace(HIT_END, "")  # never from the text itself
    hits = 0
    parts: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        if stem(match.group()) in stems:
            parts += [text[last : match.start()], HIT_START, match.group(), HIT_END]
            last = match.end()
            hits += 1
    parts.append(text[last:])
    return "".join(parts), hits


def mark_title(title: str, stems: frozenset[str]) -> str | None:
    """The title with the query's words marked, or None when it has none of them."""
    marked, hits = _marked(title, stems)
    return marked if hits else None


def _words(text: str) -> list[str]:
    """The text split at spaces, a ``$...$`` formula always one word (a snippet never cuts one:
    half a formula would pair its dollar with the next one's)."""
    if "$" not in text:
        return text.split()
    kept = MATH_RE.sub(lambda m: re.sub(r"\s+", "\x00", m.group(0)), text)
    return [word.replace("\x00", " ") for word in kept.split()]


def snippet(abstract: str, stems: frozenset[str], words: int = SNIPPET_WORDS) -> str | None:
    """The ``words``-word passage of the abstract with most query words, marked, with "…" where
    it is cut; None when the abstract has none of them."""
    matching = {w for w in set(_WORD.findall(abstract)) if stem(w) in stems}
    if not matching:
        return None
    tokens = _words(abstract)
    # a token that is one word is looked up as it is (most are); others are split into words
    hit = [
        1
        if t in matching or (not t.isalnum() and any(w in matching for w in _WORD.findall(t)))
        else 0
        for t in tokens
    ]
    if not any(hit):
        return None
    best, best_start, window = -1, 0, sum(hit[:words])
    for start in range(max(1, len(tokens) - words + 1)):
        if start:
            window += hit[start + words - 1] - hit[start - 1]
        if window > best:
            best, best_start = window, start
    passage = " ".join(tokens[best_start : best_start + words])
    marked, _ = _marked(passage, stems)
    prefix = "…" if best_start > 0 else ""
    suffix = "…" if best_start + words < len(tokens) else ""
    return prefix + marked + suffix
