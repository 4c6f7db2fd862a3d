"""The filter catalogue's codes (``search/catalogue.py``): each vector as 4-bit values and as one
sign bit a dimension, and the rows nearest a query by the bits' Hamming distance."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# The bits of a filter's rows (a category's: not contiguous) are gathered this many at a time into
# one small buffer (no large temporary however many searches run at once).
GATHER_RUN = 65_536


def nibble_codes(matrix: NDArray[np.float32]) -> NDArray[np.uint8]:
    """Each row scaled to its own peak (cosine does not mind), rounded to -7..7 and kept as 4 bits
    (value + 8): a byte holds dimension j in its high half and dimension half + j in its low half
    (half = the dimensions / 2, rounded up), so unpacking is two whole-array steps."""
    matrix = np.atleast_2d(matrix)
    peak = np.abs(matrix).max(axis=1)
    peak[peak == 0] = 1.0
    values = (np.round(matrix * (7.0 / peak[:, None])) + 8).astype(np.uint8)
    half = (matrix.shape[1] + 1) // 2
    low = np.full((len(values), half), 8, np.uint8)
    low[:, : matrix.shape[1] - half] = values[:, half:]
    codes: NDArray[np.uint8] = (values[:, :half] << 4) | low
    return codes


def unpacked(codes: NDArray[np.uint8], dim: int) -> NDArray[np.int8]:
    """:func:`nibble_codes` as int8 rows (-7..7) of ``dim`` values, for usearch's int8 scan."""
    half = codes.shape[1]
    out = np.empty((len(codes), 2 * half), np.int8)
    np.right_shift(codes, 4, out=out[:, :half].view(np.uint8))
    np.bitwise_and(codes, 15, out=out[:, half:].view(np.uint8))
    out -= 8
    return out[:, :dim]


def sign_bits(matrix: NDArray[np.float32], centre: NDArray[np.float32]) -> NDArray[np.uint64]:
    """One bit a dimension, set where the row is above ``centre``, packed into 64-bit words (the
    last padded with zeros): shape (words, rows), so each word of every row is contiguous."""
    packed = np.packbits(np.atleast_2d(matrix) > centre, axis=1)
    words = -(-packed.shape[1] // 8)
    padded = np.zeros((packed.shape[0], words * 8), np.uint8)
    padded[:, : packed.shape[1]] = packed
    return np.ascontiguousarray(padded.view(np.uint64).T)


def bits_nearest(
    bits: NDArray[np.uint64], rows: NDArray[np.int64] | None, query: NDArray[np.uint64], keep: int
) -> NDArray[np.int64]:
    """Positions in ``rows`` (None: every column of ``bits``, in place) of the ``keep`` rows whose
    bits are nearest ``query``'s (Hamming distance), and of every row as near as the last of them;
    ascending. Counted :data:`GATHER_RUN` rows at a time (gathered into one buffer), word by word."""
    words, size = bits.shape[0], bits.shape[1] if rows is None else len(rows)
    distance = np.zeros(size, np.uint16)
    buffer = np.empty((words, min(GATHER_RUN, size)), np.uint64)
    counts = np.empty(buffer.shape[1], np.uint8)
    for start in range(0, size, GATHER_RUN):
        stop = min(start + GATHER_RUN, size)
        run = buffer[:, : stop - start]
        if rows is None:
            np.bitwise_xor(bits[:, start:stop], query[:, None], out=run)
        else:
            np.take(bits, rows[start:stop], axis=1, out=run)
            np.bitwise_xor(run, query[:, None], out=run)
        into = distance[start:stop]
        for word in range(words):
            np.bitwise_count(run[word], out=counts[: stop - start])
            into += counts[: stop - start]
    if keep >= size:
        return np.arange(size, dtype=np.int64)
    reach = np.cumsum(np.bincount(distance, minlength=64 * words + 1))
    limit = int(np.searchsorted(reach, keep))  # the least distance with ``keep`` rows within it
    return np.flatnonzero(distance <= limit).astype(np.int64)
