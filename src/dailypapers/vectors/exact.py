"""Exact search: every vector in one NumPy matrix, scored with a single matrix-vector product.

At 33 k MiniLM vectors a query costs ~2 ms on one core; ``benchmarks/ann_recall.py`` measures where
HNSW starts to pay (``DAILYPAPERS_HNSW_THRESHOLD``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from dailypapers.vectors.base import Ids, Matrix, Scores, as_ids, top_k


class ExactIndex:
    """Float32 brute force; removed rows are masked and compacted away when they pile up."""

    kind = "exact"
    dtype: type[np.generic] = np.float32

    def __init__(self, model_name: str, dim: int, capacity: int = 1024) -> None:
        self.model_name = model_name
        self.dim = dim
        self._ids = np.full(capacity, -1, np.int64)
        self._matrix = np.zeros((capacity, dim), self.dtype)
        self._scales = np.ones(capacity, np.float32)  # per row; 1 except for int8 codes
        self._size = 0  # rows in use, live or removed
        self._row: dict[int, int] = {}
        self._lock = threading.RLock()
        self._version = 0  # bumped when rows are added or removed
        self._where: tuple[int, npt.NDArray[np.int64]] = (-1, np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self._row

    def add(self, ids: Iterable[int] | Ids, vectors: Matrix) -> None:
        keys = as_ids(ids)
        vectors = np.asarray(vectors, np.float32).reshape(len(keys), self.dim)
        with self._lock:
            for key, vector in zip(keys.tolist(), vectors, strict=True):
                row = self._row.get(key)
                if row is None:
                    row = self._append_row(key)
                self._store(row, vector)

    def _store(self, row: int, vector: npt.NDArray[np.float32]) -> None:
        self._matrix[row] = vector

    def _append_row(self, key: int) -> int:
        if self._size == len(self._ids):
            self._grow(max(1024, 2 * len(self._ids)))
        row = self._size
        self._size += 1
        self._ids[row] = key
        self._row[key] = row
        self._version += 1
        return row

    def _grow(self, capacity: int) -> None:
        ids = np.full(capacity, -1, np.int64)
        matrix = np.zeros((capacity, self.dim), self.dtype)
        scales = np.ones(capacity, np.float32)
        ids[: self._size] = self._ids[: self._size]
        matrix[: self._size] = self._matrix[: self._size]
        scales[: self._size] = self._scales[: self._size]
        self._ids, self._matrix, self._scales = ids, matrix, scales

    def remove(self, ids: Iterable[int] | Ids) -> None:
        with self._lock:
            for key in as_ids(ids).tolist():
                row = self._row.pop(key, None)
                if row is not None:
                    self._ids[row] = -1
                    self._matrix[row] = 0
                    self._version += 1
            if self._size - len(self._row) > max(1024, self._size // 4):
                self._compact()

    def _compact(self) -> None:
        live = np.flatnonzero(self._ids[: self._size] >= 0)
        self._ids[: len(live)] = self._ids[live]
        self._matrix[: len(live)] = self._matrix[live]
        self._scales[: len(live)] = self._scales[live]
        self._ids[len(live) : self._size] = -1
        self._size = len(live)
        self._row = {int(key): row for row, key in enumerate(self._ids[: self._size])}
        self._version += 1

    def _rows_of(self, ids: Iterable[int]) -> tuple[Ids, npt.NDArray[np.int64]]:
        """Those of ``ids`` in the index and their rows, looked up in one NumPy step (a map from
        id to row, remade after rows were added or removed; call with the lock held)."""
        version, where = self._where
        if version != self._version:
            live = self._ids[: self._size]
            held = np.flatnonzero(live >= 0)
            where = np.full(int(live.max(initial=-1)) + 1, -1, np.int64)
            where[live[held]] = held
            self._where = (self._version, where)
        keys = as_ids(ids)
        keys = keys[(keys >= 0) & (keys < len(where))]
        rows = where[keys]
        found = rows >= 0
        return keys[found], rows[found]

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        with self._lock:
            ids = self._ids[: self._size]
            scores = self._scores(np.asarray(query, np.float32))
            if len(self._row) < self._size:
                live = ids >= 0
                ids, scores = ids[live], scores[live]
            return top_k(ids.copy(), scores, min(k, len(ids)))

    def _scores(self, query: npt.NDArray[np.float32]) -> Scores:
        result: Scores = self._matrix[: self._size] @ query
        return result

    def matrix_for(self, ids: Iterable[int]) -> tuple[Ids, Matrix]:
        """The vectors of those of ``ids`` in the index, gathered in one step."""
        with self._lock:
            keys, at = self._rows_of(ids)
            matrix: Matrix = self._matrix[at].astype(np.float32, copy=False)
        return keys, matrix

    def vectors_for(self, ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
        with self._lock:
            return {
                int(key): self._matrix[self._row[int(key)]].copy()
                for key in ids
                if int(key) in self._row
            }


Fetch = Callable[[list[int]], dict[int, npt.NDArray[np.float32]]]
SCAN_ROWS = 16_384  # int8 rows widened to float32 at a time


class Int8Codes(ExactIndex):
    """Vectors kept as int8 codes with a scale per row (a quarter of the memory of float32): close
    enough to rank candidates, whose exact cosines are then computed from the float32 vectors."""

    kind = "exact-int8"
    dtype = np.int8
    RERANK = 4  # candidates re-ranked per result asked for

    def _store(self, row: int, vector: npt.NDArray[np.float32]) -> None:
        peak = float(np.abs(vector).max()) or 1.0
        self._matrix[row] = np.round(vector * (127.0 / peak)).astype(np.int8)
        self._scales[row] = peak / 127.0

    def _scores(self, query: npt.NDArray[np.float32]) -> Scores:
        scores = np.empty(self._size, np.float32)
        for start in range(0, self._size, SCAN_ROWS):
            stop = min(start + SCAN_ROWS, self._size)
            scores[start:stop] = self._matrix[start:stop].astype(np.float32) @ query
        scores *= self._scales[: self._size]
        return scores

    def matrix_for(self, ids: Iterable[int]) -> tuple[Ids, Matrix]:
        """The codes of those of ``ids`` in the index, scaled back (approximate vectors)."""
        with self._lock:
            keys, at = self._rows_of(ids)
            matrix: Matrix = self._matrix[at].astype(np.float32) * self._scales[at, None]
        return keys, matrix

    def coarse_among(
        self, query: npt.NDArray[np.float32], ids: Iterable[int], k: int
    ) -> tuple[Ids, Scores]:
        """The ``k`` best of ``ids`` by their codes' (approximate) cosine with ``query``."""
        with self._lock:
            keys, at = self._rows_of(ids)
            scores = np.empty(len(at), np.float32)
            q = np.asarray(query, np.float32)
            for start in range(0, len(at), SCAN_ROWS):
                chunk = at[start : start + SCAN_ROWS]
                scores[start : start + len(chunk)] = self._matrix[chunk].astype(np.float32) @ q
            scores *= self._scales[at]
        return top_k(keys, scores, k)


class Int8ExactIndex(Int8Codes):
    """Exact scan over int8 codes; the best candidates are re-ranked with their float32 vectors
    from the database, so returned scores are exact cosines."""

    def __init__(self, model_name: str, dim: int, fetch: Fetch, capacity: int = 1024) -> None:
        super().__init__(model_name, dim, capacity)
        self._fetch = fetch

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        ids, _ = super().search(query, k * self.RERANK)
        return self._reranked(query, ids, k)

    def nearest_among(
        self, query: npt.NDArray[np.float32], ids: Iterable[int], k: int
    ) -> tuple[Ids, Scores]:
        """The ``k`` nearest of ``ids``: codes pick RERANK x k candidates, float32 ranks them."""
        found, _ = self.coarse_among(query, ids, k * self.RERANK)
        return self._reranked(query, found, k)

    def _reranked(self, query: npt.NDArray[np.float32], ids: Ids, k: int) -> tuple[Ids, Scores]:
        exact = self._fetch(ids.tolist())
        if not exact:
            return ids[:0], np.empty(0, np.float32)
        keys = np.fromiter(exact.keys(), np.int64, len(exact))
        return top_k(keys, np.stack(list(exact.values())) @ np.asarray(query, np.float32), k)

    def vectors_for(self, ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
        wanted = [int(key) for key in ids if int(key) in self._row]
        return self._fetch(wanted) if wanted else {}

    def matrix_for(self, ids: Iterable[int]) -> tuple[Ids, Matrix]:
        """The float32 vectors from the database (the codes are only for ranking)."""
        found = self.vectors_for(ids)
        keys = np.fromiter(found, np.int64, len(found))
        if not found:
            return keys, np.empty((0, self.dim), np.float32)
        return keys, np.stack(list(found.values()))
