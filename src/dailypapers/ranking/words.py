"""Words as features: a tf-idf vocabulary over titles and abstracts, and papers as sparse vectors.

The recipe is arxiv-sanity-lite's (words and word pairs, lower case, accents stripped, English
function words dropped; the ``MAX_FEATURES`` most frequent terms that are in at least ``MIN_DF``
papers and at most ``MAX_DF`` of them; sublinear tf, smooth idf, unit length), written here with
NumPy so the web process needs no scikit-learn. A set of papers is a :class:`SparseRows` (CSR:
``indptr``, ``indices``, ``data``); the recommender multiplies it with a weight vector.

Pure functions: the vocabulary is fitted by a job and kept in the database as bytes
(:meth:`Vocabulary.to_bytes`), each paper's vector too (:func:`pack_row`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_FEATURES = 20_000
MIN_DF = 5
MAX_DF = 0.1
_TOKEN = re.compile(r"\b[a-z_][a-z0-9_]+\b")

# English function words (and a few words every abstract uses); dropped before pairs are formed.
STOP_WORDS = frozenset(
    """a about above across after afterwards again against all almost alone along already also
    although always am among amongst an and another any anyhow anyone anything anyway anywhere are
    around as at be became because become becomes been before beforehand behind being below beside
    besides between beyond both but by can cannot could did do does doing done down due during each
    either else elsewhere enough etc even ever every everyone everything everywhere except few for
    former formerly from further had has have having he hence her here hereby herein hers herself
    him himself his how however i ie if in indeed into is it its itself just last latter least less
    many may me meanwhile might mine more moreover most mostly much must my myself namely neither
    never nevertheless next no nobody none nor not nothing now nowhere of off often on once one only
    onto or other others otherwise our ours ourselves out over own per perhaps please quite rather
    re same seem seemed seeming seems several she should since so some somehow someone something
    sometime sometimes somewhere still such than that the their theirs them themselves then thence
    there thereafter thereby therefore therein thereupon these they this those though through
    throughout thus to together too toward towards under until up upon us very via was we well were
    what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever
    whether which while whither who whoever whole whom whose why will with within without would yet
    you your yours yourself yourselves""".split()
)


def fold(text: str) -> str:
    """Lower case, accents stripped (``Schrödinger`` → ``schrodinger``)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


def terms(text: str) -> list[str]:
    """A text's words (function words dropped) followed by its pairs of neighbouring words."""
    words = [w for w in _TOKEN.findall(fold(text)) if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


@dataclass(frozen=True, slots=True)
class SparseRows:
    """Rows of a sparse matrix (CSR) over a vocabulary of ``width`` terms."""

    indptr: np.ndarray  # int64, len rows + 1
    indices: np.ndarray  # int32
    data: np.ndarray  # float32
    width: int

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """Each row times ``weights`` (a dense vector of ``width``)."""
        products = self.data * weights[self.indices]
        sums = np.zeros(self.rows, dtype=np.float64)
        lengths = np.diff(self.indptr)
        nonempty = lengths > 0
        if products.size:
            sums[nonempty] = np.add.reduceat(products, self.indptr[:-1][nonempty])
        return sums

    def transpose_dot(self, values: np.ndarray) -> np.ndarray:
        """``rows.T @ values``: each term's sum of its entries weighted by its row's value."""
        per_entry = self.data * np.repeat(values, np.diff(self.indptr))
        return np.bincount(self.indices, weights=per_entry, minlength=self.width)

    def take(self, rows: Sequence[int] | np.ndarray) -> SparseRows:
        chosen = np.asarray(rows, dtype=np.int64)
        starts, ends = self.indptr[chosen], self.indptr[chosen + 1]
        lengths = ends - starts
        indptr = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if lengths.sum() == 0:
            empty = np.zeros(0, dtype=np.int32)
            return SparseRows(indptr, empty, empty.astype(np.float32), self.width)
        spans = np.concatenate(
            [np.arange(s, e) for s, e in zip(starts, ends, strict=True) if e > s]
        )
        return SparseRows(indptr, self.indices[spans], self.data[spans], self.width)

    def row(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.indptr[index], self.indptr[index + 1]
        return self.indices[start:end], self.data[start:end]


def stack_rows(rows: Sequence[tuple[np.ndarray, np.ndarray]], width: int) -> SparseRows:
    """One :class:`SparseRows` from per-paper ``(indices, values)`` pairs."""
    lengths = np.fromiter((len(i) for i, _ in rows), dtype=np.int64, count=len(rows))
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if not rows or indptr[-1] == 0:
        empty = np.zeros(0, dtype=np.int32)
        return SparseRows(indptr, empty, empty.astype(np.float32), width)
    indices = np.concatenate([i for i, _ in rows]).astype(np.int32, copy=False)
    data = np.concatenate([v for _, v in rows]).astype(np.float32, copy=False)
    return SparseRows(indptr, indices, data, width)


class Vocabulary:
    """The terms features are made of, each with its idf."""

    def __init__(self, words: Sequence[str], idf: np.ndarray) -> None:
        self.words = list(words)
        self.idf = np.asarray(idf, dtype=np.float32)
        self.index = {word: i for i, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A text as (term indices, tf-idf values): sublinear tf, times idf, unit length."""
        counts = Counter(i for i in map(self.index.get, terms(text)) if i is not None)
        if not counts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        indices = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        tf = np.fromiter((counts[i] for i in indices), dtype=np.float32, count=len(counts))
        values = (1.0 + np.log(tf)) * self.idf[indices]
        values /= np.linalg.norm(values)
        return indices, values.astype(np.float32)

    def rows(self, texts: Iterable[str]) -> SparseRows:
        return stack_rows([self.vector(text) for text in texts], len(self))

    def to_bytes(self) -> bytes:
        words = "\n".join(self.words).encode("utf-8")
        header = np.array([len(self.words), len(words)], dtype="<i8").tobytes()
        return header + self.idf.astype("<f4").tobytes() + words

    @classmethod
    def from_bytes(cls, blob: bytes) -> Vocabulary:
        count, size = np.frombuffer(blob[:16], dtype="<i8")
        idf = np.frombuffer(blob[16 : 16 + 4 * int(count)], dtype="<f4")
        text = blob[16 + 4 * int(count) : 16 + 4 * int(count) + int(size)].decode("utf-8")
        words = text.split("\n") if count else []
        if len(words) != count:
            raise ValueError("a damaged vocabulary")
        return cls(words, idf)


def fit_vocabulary(
    texts: Iterable[str],
    *,
    max_features: int = MAX_FEATURES,
    min_df: int = MIN_DF,
    max_df: float = MAX_DF,
) -> Vocabulary:
    """The vocabulary of ``texts``: terms in ``min_df`` papers or more and in at most ``max_df``
    of them, the ``max_features`` most frequent (ties by term), with smooth idf."""
    document_frequency: Counter[str] = Counter()
    frequency: Counter[str] = Counter()
    documents = 0
    for text in texts:
        found = terms(text)
        frequency.update(found)
        document_frequency.update(set(found))
        documents += 1
    most = max_df * documents
    kept = [t for t, df in document_frequency.items() if min_df <= df <= most]
    kept.sort(key=lambda t: (-frequency[t], t))
    chosen = sorted(kept[:max_features])
    df = np.array([document_frequency[t] for t in chosen], dtype=np.float64)
    idf = np.log((1 + documents) / (1 + df)) + 1.0
    return Vocabulary(chosen, idf.astype(np.float32))


def pack_row(indices: np.ndarray, values: np.ndarray) -> bytes:
    """A paper's vector as bytes: int32 term indices, then float16 values."""
    return indices.astype("<i4").tobytes() + values.astype("<f2").tobytes()


def unpack_row(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    count = len(blob) // 6
    if count * 6 != len(blob):
        raise ValueError(f"a term vector of {len(blob)} bytes")
    indices = np.frombuffer(blob[: 4 * count], dtype="<i4")
    values = np.frombuffer(blob[4 * count :], dtype="<f2").astype(np.float32)
    return indices, values
