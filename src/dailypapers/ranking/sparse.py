"""Sparse rows (CSR) in NumPy: the two products a linear model over tf-idf features needs.

A matrix is three arrays (``indptr``, ``indices``, ``data``): row i's columns are
``indices[indptr[i]:indptr[i+1]]`` with values ``data[...]`` (no SciPy in the request path;
the background fit, ``linear.py``, hands its block to scipy.sparse).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Csr:
    """Rows of a sparse matrix: row i's columns are ``indices[indptr[i]:indptr[i+1]]``."""

    indptr: np.ndarray  # int64 (rows + 1)
    indices: np.ndarray  # int32
    data: np.ndarray  # float32

    @property
    def rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    def take(self, rows: np.ndarray) -> Csr:
        """The given rows, in that order."""
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        if indptr[-1] == 0:
            return Csr(indptr, self.indices[:0], self.data[:0])
        # positions of every kept entry: its row's start there, plus its rank in the row
        where = np.arange(indptr[-1]) + np.repeat(starts - indptr[:-1], lengths)
        return Csr(indptr, self.indices[where], self.data[where])

    def between(self, start: int, stop: int) -> Csr:
        """Rows ``start`` to ``stop - 1``: views of this matrix's arrays, no copy of its entries."""
        indptr = self.indptr[start : stop + 1]
        first, last = int(indptr[0]), int(indptr[-1])
        return Csr(indptr - first, self.indices[first:last], self.data[first:last])

    @staticmethod
    def stack(parts: Iterable[Csr]) -> Csr:
        items = list(parts)
        indptr = [np.zeros(1, dtype=np.int64)]
        total = 0
        for part in items:
            indptr.append(part.indptr[1:] + total)
            total += int(part.indptr[-1])
        return Csr(
            np.concatenate(indptr),
            np.concatenate([p.indices for p in items]).astype(np.int32, copy=False),
            np.concatenate([p.data for p in items]).astype(np.float32, copy=False),
        )


def empty(rows: int = 0) -> Csr:
    return Csr(np.zeros(rows + 1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))


def csr_dot(matrix: Csr, weights: np.ndarray) -> np.ndarray:
    """``matrix @ weights`` (one value per row)."""
    products = matrix.data * weights[matrix.indices]
    lengths = np.diff(matrix.indptr)
    result = np.zeros(matrix.rows, dtype=np.float64)
    filled = lengths > 0
    if filled.any():
        result[filled] = np.add.reduceat(products, matrix.indptr[:-1][filled])
    return result


def csr_t_dot(matrix: Csr, values: np.ndarray, width: int) -> np.ndarray:
    """``matrix.T @ values`` (one value per column)."""
    lengths = np.diff(matrix.indptr)
    spread = matrix.data * np.repeat(values, lengths)
    result: np.ndarray = np.bincount(matrix.indices, weights=spread, minlength=width)
    return result
