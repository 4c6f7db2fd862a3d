"""Tf-idf of titles and abstracts for the "For you" model, in NumPy (no scikit-learn at run time).

The recipe is arxiv-sanity-lite's: words (a letter or ``_`` then letters, digits or ``_``),
lowercased, accents stripped, English stop words left out, then single words and pairs of
neighbouring words (1-2-grams); a vocabulary of at most :data:`MAX_TERMS` terms that occur in at
least :data:`MIN_DF` papers and at most :data:`MAX_DF` of them (the most frequent first);
``idf = ln((1 + n) / (1 + df)) + 1``; sublinear tf (``1 + ln tf``); rows scaled to unit length.

Rows come as :class:`~dailypapers.ranking.sparse.Csr`.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dailypapers.enrich.words import STOP_WORDS
from dailypapers.ranking.sparse import Csr

MAX_TERMS = 20_000
MIN_DF = 5
MAX_DF = 0.1
_WORD = re.compile(r"\b[a-z_][a-z0-9_]+\b")


def tokens(text: str) -> list[str]:
    """The text's 1-2-grams: words (stop words out), then pairs of neighbouring kept words."""
    plain = text.lower()
    if not plain.isascii():
        folded = unicodedata.normalize("NFKD", plain)
        plain = "".join(c for c in folded if not unicodedata.combining(c))
    words = [w for w in _WORD.findall(plain) if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@dataclass(frozen=True)
class Vocabulary:
    terms: list[str]
    idf: np.ndarray  # float32, one per term

    @cached_property
    def digest(self) -> str:
        """Names this vocabulary (a model trained on another one is retrained)."""
        hashed = hashlib.sha1("\n".join(self.terms).encode("utf-8"))
        hashed.update(self.idf.astype("<f4").tobytes())
        return hashed.hexdigest()[:16]

    def index(self) -> dict[str, int]:
        return {term: i for i, term in enumerate(self.terms)}

    def transform(self, texts: Iterable[str], index: dict[str, int] | None = None) -> Csr:
        """The texts' tf-idf rows (unit length; a text with no known term: an empty row)."""
        return self.transform_tokens((tokens(text) for text in texts), index)

    def transform_tokens(
        self, documents: Iterable[list[str]], index: dict[str, int] | None = None
    ) -> Csr:
        """:meth:`transform` of texts already split by :func:`tokens`."""
        lookup = index if index is not None else self.index()
        found: list[int] = []
        lengths: list[int] = []
        for document in documents:
            known = [lookup[t] for t in document if t in lookup]
            found.extend(known)
            lengths.append(len(known))
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        width = max(len(self.terms), 1)
        keys, tf = np.unique(rows * width + np.array(found, dtype=np.int64), return_counts=True)
        row_of, columns = np.divmod(keys, width)
        values = (1.0 + np.log(tf)) * self.idf[columns]
        norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=len(lengths)))
        values = values / np.maximum(norms[row_of], 1e-12)
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=len(lengths)), out=indptr[1:])
        return Csr(indptr, columns.astype(np.int32), values.astype(np.float32))


def fit_vocabulary(texts: Iterable[str]) -> Vocabulary:
    """The vocabulary and idf of a corpus (see the module's docstring)."""
    return fit_vocabulary_tokens(tokens(text) for text in texts)


def fit_vocabulary_tokens(documents: Iterable[list[str]]) -> Vocabulary:
    """:func:`fit_vocabulary` of texts already split by :func:`tokens`."""
    df: Counter[str] = Counter()
    tf: Counter[str] = Counter()
    n = 0
    for found in documents:
        n += 1
        tf.update(found)
        df.update(set(found))
    ceiling = MAX_DF * n
    kept = [t for t, d in df.items() if MIN_DF <= d <= ceiling]
    kept.sort(key=lambda t: (-tf[t], t))
    kept = sorted(kept[:MAX_TERMS])
    counts = np.array([df[t] for t in kept], dtype=np.float64)
    idf = (np.log((1.0 + n) / (1.0 + counts)) + 1.0).astype(np.float32)
    return Vocabulary(kept, idf)


@dataclass(frozen=True)
class PaperTerms:
    """A vocabulary and the tf-idf rows of some papers under it (``db.signals.TermIndex``)."""

    vocabulary: Vocabulary
    ids: np.ndarray  # int64, sorted: the papers with a row
    matrix: Csr  # one row per id

    @cached_property
    def lookup(self) -> dict[str, int]:
        """Term -> column (for texts to transform)."""
        return self.vocabulary.index()

    def rows(self, paper_ids: np.ndarray) -> tuple[Csr, np.ndarray]:
        """The rows of ``paper_ids`` (in that order; an empty row for a paper without one) and
        which of them had a row."""
        wanted = np.asarray(paper_ids, dtype=np.int64)
        if len(self.ids) == 0:
            return Csr(
                np.zeros(len(wanted) + 1, np.int64), self.matrix.indices[:0], self.matrix.data[:0]
            ), np.zeros(len(wanted), dtype=bool)
        where = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        hit = self.ids[where] == wanted
        taken = self.matrix.take(where[hit])
        if hit.all():
            return taken, hit
        lengths = np.zeros(len(wanted), dtype=np.int64)
        lengths[hit] = np.diff(taken.indptr)
        indptr = np.zeros(len(wanted) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return Csr(indptr, taken.indices, taken.data), hit

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            terms=np.frombuffer("\n".join(self.vocabulary.terms).encode("utf-8"), np.uint8),
            idf=self.vocabulary.idf.astype("<f4"),
            ids=self.ids.astype("<i8"),
            indptr=self.matrix.indptr.astype("<i8"),
            indices=self.matrix.indices.astype("<i4"),
            data=self.matrix.data.astype("<f2"),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> PaperTerms | None:
        """The index, or None when the bytes are damaged (the job builds a new one)."""
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
                text = arrays["terms"].tobytes().decode("utf-8")
                vocabulary = Vocabulary(text.split("\n") if text else [], arrays["idf"])
                matrix = Csr(
                    arrays["indptr"].astype(np.int64),
                    arrays["indices"].astype(np.int32),
                    arrays["data"].astype(np.float32),
                )
                ids = arrays["ids"].astype(np.int64)
        except (ValueError, KeyError, OSError, UnicodeDecodeError, EOFError):
            return None
        if matrix.rows != len(ids) or len(vocabulary.terms) != len(vocabulary.idf):
            return None
        return cls(vocabulary, ids, matrix)
