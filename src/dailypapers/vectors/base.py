"""The one interface every vector index offers, and helpers shared by the implementations."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]


class VectorIndex(Protocol):
    """Nearest neighbours by cosine among unit vectors keyed by paper id.

    ``search`` returns at most ``k`` (paper ids, cosine scores), best first. Deleted papers are removed
    by whoever keeps the index current (:func:`dailypapers.vectors.open_index`), never returned.
    """

    model_name: str
    kind: str  # "exact" | "exact-int8" | "hnsw"
    dim: int

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]: ...

    def add(self, ids: Iterable[int] | Ids, vectors: Matrix) -> None: ...

    def remove(self, ids: Iterable[int] | Ids) -> None: ...

    def __len__(self) -> int: ...

    def __contains__(self, paper_id: object) -> bool: ...

    def vectors_for(self, ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]: ...


@runtime_checkable
class BatchVectors(Protocol):
    """An index that hands out many vectors at once as one matrix (faster than a dict of rows)."""

    def matrix_for(self, ids: Iterable[int]) -> tuple[Ids, Matrix]:
        """(ids, vectors) of those of ``ids`` the index holds, in one float32 matrix."""
        ...


@runtime_checkable
class NearestAmong(Protocol):
    """An index with its own exact search restricted to given ids."""

    def nearest_among(
        self, query: npt.NDArray[np.float32], ids: Iterable[int], k: int
    ) -> tuple[Ids, Scores]: ...


def top_k(ids: Ids, scores: Scores, k: int) -> tuple[Ids, Scores]:
    """The ``k`` best (id, score) pairs, best first (ties by smaller id, so results are stable)."""
    if k <= 0 or len(ids) == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.lexsort((ids, -scores))
    return ids[order].astype(np.int64), scores[order].astype(np.float32)


def matrix_of(index: VectorIndex, ids: Iterable[int]) -> tuple[Ids, Matrix]:
    """(ids, float32 vectors) of those of ``ids`` the index holds: in one call where the index
    can (:class:`BatchVectors`), else row by row."""
    if isinstance(index, BatchVectors):
        return index.matrix_for(ids)
    found = index.vectors_for(ids)
    keys = np.fromiter(found.keys(), np.int64, len(found))
    if not found:
        return keys, np.empty((0, index.dim), np.float32)
    return keys, np.stack(list(found.values())).astype(np.float32, copy=False)


def matrix_in_halves(
    index: VectorIndex, ids: Ids, retry: Callable[[BaseException], bool], smallest: int
) -> tuple[Ids, Matrix]:
    """:func:`matrix_of` for ``ids``; when reading them fails with an error ``retry`` accepts (a
    statement past its timeout: random reads on a cold disk) and there are more than ``smallest``,
    each half read the same way."""
    try:
        return matrix_of(index, ids)
    except Exception as exc:
        if len(ids) <= smallest or not retry(exc):
            raise
    half = len(ids) // 2
    first = matrix_in_halves(index, ids[:half], retry, smallest)
    second = matrix_in_halves(index, ids[half:], retry, smallest)
    return np.concatenate([first[0], second[0]]), np.concatenate([first[1], second[1]])


def search_among(
    index: VectorIndex, query: npt.NDArray[np.float32], ids: Iterable[int], k: int
) -> tuple[Ids, Scores]:
    """Exact top ``k`` restricted to ``ids`` (for narrow filters, where ANN over-fetch falls short)."""
    if isinstance(index, NearestAmong):
        return index.nearest_among(query, ids, k)
    keys, matrix = matrix_of(index, ids)
    if not len(keys):
        return np.empty(0, np.int64), np.empty(0, np.float32)
    return top_k(keys, matrix @ np.asarray(query, np.float32), k)


def as_ids(ids: Iterable[int] | Ids) -> Ids:
    return np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
