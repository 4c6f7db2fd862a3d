"""HNSW index (usearch) for large corpora, saved in ``vectors/`` in the data dir.

Saved as one usearch file plus ``current.json`` (model, dimension, count, watermark, file size and
CRC-32). :func:`load_saved` verifies all of it, and a sample of vectors against the database, before
trusting a file: a truncated, garbled or stale file (another model, a replaced database) is refused
with a warning and the caller rebuilds from the database. New files are written beside the old one
and ``current.json`` is replaced atomically, so a reader never sees half a save.

Parameters measured with ``benchmarks/ann_recall.py`` on real MiniLM vectors (see its docstring).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dailypapers.vectors.base import Ids, Matrix, Scores, as_ids, top_k
from dailypapers.vectors.exact import Int8Codes

log = logging.getLogger(__name__)

FORMAT = 1
CODES_CHUNK = 8192  # vectors copied into the int8 codes at a time (holding the lock)


@dataclass(frozen=True)
class HnswParams:
    """Measured (benchmarks/ann_recall.py; 32.6 k real MiniLM vectors, 1,000 held-out real
    queries): recall@10 0.971 / 0.992 / 0.998 / 0.999 at expansion_search 32 / 64 / 128 / 256; at
    1 M (real + synthetic) 0.899 / 0.954 / 0.982 / 0.993. The default 128 keeps recall >= 0.95
    with a margin at 1 M, p50 ~1 ms."""

    connectivity: int = 16
    expansion_add: int = 128
    expansion_search: int = 128
    dtype: str = "f16"  # half the memory of f32


PARAMS = HnswParams()


def usearch_index_class() -> Any:  # noqa: ANN401 - usearch is untyped
    """usearch's ``Index``, imported after onnxruntime and torch when they are installed.

    The other order breaks the process: ``python -c "import usearch.index, onnxruntime"`` dies
    with a segmentation fault inside onnxruntime's import, and a model export traced by torch after
    usearch was loaded hung (usearch 2.26, onnxruntime 1.32, torch 2.13 on Linux x86-64). So every
    import of usearch goes through here.
    """
    if "usearch.index" not in sys.modules:
        for first in ("onnxruntime", "torch"):
            with contextlib.suppress(ImportError):
                importlib.import_module(first)
    from usearch.index import Index

    return Index


def int8_nearest(codes: npt.NDArray[np.int8], query: npt.NDArray[np.float32], k: int) -> Ids:
    """Rows of ``codes`` (int8, one vector a row, any scale per row) with the ``k`` highest cosine
    with ``query``, best first: usearch's exact SIMD scan (int8 dot products, ~4 times less CPU
    than widening the rows to float32 for NumPy's product: 60 k rows ~9 ms)."""
    k = min(k, len(codes))
    if k <= 0:
        return np.empty(0, np.int64)
    usearch_index_class()
    from usearch.compiled import MetricKind
    from usearch.index import search

    peak = float(np.abs(query).max()) or 1.0
    code = np.round(np.asarray(query, np.float32) * (127.0 / peak)).astype(np.int8)
    found = search(np.ascontiguousarray(codes), code, k, MetricKind.Cos, exact=True, threads=1)
    return np.asarray(found.keys, np.int64).reshape(-1)[:k]


class HnswIndex:
    """Approximate nearest neighbours by inner product (= cosine: vectors are unit length)."""

    kind = "hnsw"

    def __init__(self, model_name: str, dim: int, params: HnswParams = PARAMS, index: Any = None):
        Index = usearch_index_class()
        self.model_name = model_name
        self.dim = dim
        self.params = params
        self._index = index or Index(
            ndim=dim,
            metric="ip",
            dtype=params.dtype,
            connectivity=params.connectivity,
            expansion_add=params.expansion_add,
            expansion_search=params.expansion_search,
        )
        self._index.expansion_search = params.expansion_search  # not saved with the index
        self._lock = threading.RLock()
        # int8 copies of the vectors, for exact search among a filter's papers (nearest_among):
        # made on a background thread when first needed, then kept current with the graph.
        self._codes: Int8Codes | None = None
        self._codes_ready = threading.Event()
        # False in a web process that keeps a filter catalogue (search/catalogue.py: int8 codes of
        # its own, ~0.4 GB at 1 M): nearest_among then reads the vectors and makes no codes.
        self.codes_wanted = True

    def __len__(self) -> int:
        return len(self._index)

    @property
    def raw(self) -> Any:  # noqa: ANN401 - usearch is untyped
        """usearch's index object."""
        return self._index

    def __contains__(self, paper_id: object) -> bool:
        return isinstance(paper_id, int | np.integer) and bool(self._index.contains(int(paper_id)))

    def add(self, ids: Iterable[int] | Ids, vectors: Matrix) -> None:
        keys = as_ids(ids)
        if not len(keys):
            return
        vectors = np.asarray(vectors, np.float32).reshape(len(keys), self.dim)
        with self._lock:
            present = np.asarray(self._index.contains(keys.astype(np.uint64)), bool).reshape(-1)
            if present.any():
                self._index.remove(keys[present].astype(np.uint64))
            self._index.add(keys.astype(np.uint64), vectors)
            if self._codes is not None:
                self._codes.add(keys, vectors)

    def remove(self, ids: Iterable[int] | Ids) -> None:
        keys = as_ids(ids)
        if len(keys):
            with self._lock:
                self._index.remove(keys.astype(np.uint64))
                if self._codes is not None:
                    self._codes.remove(keys)

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        if k <= 0 or not len(self._index):
            return np.empty(0, np.int64), np.empty(0, np.float32)
        matches = self._index.search(np.asarray(query, np.float32), k)
        ids = np.asarray(matches.keys, np.int64)
        return ids, (1.0 - np.asarray(matches.distances, np.float32)).astype(np.float32)

    def matrix_for(self, ids: Iterable[int]) -> tuple[Ids, Matrix]:
        """The vectors of those of ``ids`` in the index, asked for in one call."""
        keys = as_ids(ids)
        if not len(keys):
            return keys, np.empty((0, self.dim), np.float32)
        with self._lock:
            present = np.asarray(self._index.contains(keys.astype(np.uint64)), bool).reshape(-1)
            keys = keys[present]
            rows = self._index.get(keys.astype(np.uint64), "f32") if len(keys) else ()
        if not len(keys):
            return keys, np.empty((0, self.dim), np.float32)
        return keys, np.stack(rows).astype(np.float32, copy=False).reshape(len(keys), self.dim)

    def nearest_among(
        self, query: npt.NDArray[np.float32], ids: Iterable[int], k: int
    ) -> tuple[Ids, Scores]:
        """The ``k`` nearest of ``ids`` by exact cosine. With the int8 codes ready, they pick
        RERANK x k candidates and only those vectors are read from the graph (reading one costs
        ~10 us: 40 k of them, a broad category at 1 M papers, would take ~0.4 s); until then,
        every vector of ``ids`` is read, and the codes are started (unless not ``codes_wanted``)."""
        q = np.asarray(query, np.float32)
        codes = self._codes if self._codes_ready.is_set() else None
        if codes is None:
            if self.codes_wanted:
                self.start_codes()
            keys, matrix = self.matrix_for(ids)
        else:
            found, _ = codes.coarse_among(q, ids, k * codes.RERANK)
            keys, matrix = self.matrix_for(found)
        return top_k(keys, matrix @ q, k)

    def start_codes(self, background: bool = True) -> None:
        """Make the int8 codes of every vector (a background thread unless told otherwise)."""
        with self._lock:
            if self._codes is not None:
                return
            self._codes = Int8Codes(self.model_name, self.dim, capacity=len(self._index) + 1024)
        if background:
            threading.Thread(target=self._fill_codes, name="hnsw-codes", daemon=True).start()
        else:
            self._fill_codes()

    def _fill_codes(self) -> None:
        codes = self._codes
        assert codes is not None
        with self._lock:
            keys = np.asarray(self._index.keys, np.int64)
        for start in range(0, len(keys), CODES_CHUNK):
            with self._lock:  # papers added or removed meanwhile update the codes themselves
                found, matrix = self.matrix_for(keys[start : start + CODES_CHUNK])
                codes.add(found, matrix)
        self._codes_ready.set()
        log.info("int8 codes of %d vectors ready for filtered search", len(codes))

    def vectors_for(self, ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
        found: dict[int, npt.NDArray[np.float32]] = {}
        for key in ids:
            if int(key) in self:
                vector = self._index.get(int(key))
                if vector is not None:
                    found[int(key)] = np.asarray(vector, np.float32)
        return found

    def save(self, folder: Path, watermark: int) -> None:
        """Write the index and then, atomically, the header that points at it."""
        folder.mkdir(parents=True, exist_ok=True)
        name = f"index-{watermark}-{os.getpid()}-{int(time.time())}.usearch"
        with self._lock:
            self._index.save(str(folder / name))
            count = len(self._index)
        header = {
            "format": FORMAT,
            "model": self.model_name,
            "dim": self.dim,
            "count": count,
            "watermark": watermark,
            "file": name,
            "size": (folder / name).stat().st_size,
            "crc32": _crc32(folder / name),
            "params": self.params.__dict__,
        }
        tmp = folder / f"current.json.{os.getpid()}"
        tmp.write_text(json.dumps(header, indent=1))
        tmp.replace(folder / "current.json")
        _remove_old_files(folder, keep=name)


@dataclass
class Saved:
    index: HnswIndex
    watermark: int


def load_saved(
    folder: Path, model_name: str, dim: int, params: HnswParams = PARAMS, *, view: bool = False
) -> Saved:
    """The saved index, verified against its header; raises ``StaleIndex`` saying what is wrong.

    With ``view`` the file is mapped read-only (usearch's view: shared by every process mapping
    it, immutable) instead of loaded into this process's memory."""
    Index = usearch_index_class()

    header_path = folder / "current.json"
    if not header_path.is_file():
        raise StaleIndex("no saved index")
    try:
        header = json.loads(header_path.read_text())
        path = folder / str(header["file"])
        expected = (FORMAT, model_name, dim, _build_params(params.__dict__))
        found = (header["format"], header["model"], header["dim"], _build_params(header["params"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise StaleIndex(f"unreadable header ({exc})") from exc
    if found != expected:
        raise StaleIndex(f"built for {found[1]!r} (dim {found[2]}, {found[3]}), not this model")
    if (
        not path.is_file()
        or path.stat().st_size != header["size"]
        or _crc32(path) != header["crc32"]
    ):
        raise StaleIndex(f"{path.name} is missing, truncated or damaged")
    try:
        raw = Index.restore(str(path), view=view)
    except (RuntimeError, ValueError) as exc:
        raise StaleIndex(f"{path.name} cannot be read ({exc})") from exc
    if raw is None or len(raw) != header["count"] or raw.ndim != dim:
        raise StaleIndex(f"{path.name} does not hold the {header['count']} vectors its header says")
    return Saved(HnswIndex(model_name, dim, params, raw), int(header["watermark"]))


def _build_params(params: dict[str, Any]) -> dict[str, Any]:
    """What the saved graph depends on (expansion_search is a query-time knob, not saved)."""
    return {k: v for k, v in params.items() if k != "expansion_search"}


class StaleIndex(Exception):
    """A saved index that must not be used (the message says why)."""


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 24):
            crc = zlib.crc32(chunk, crc)
    return crc


def _remove_old_files(folder: Path, keep: str) -> None:
    """Earlier saves, once no reader can still be opening them (a minute old)."""
    for path in folder.glob("index-*.usearch"):
        if path.name != keep and time.time() - path.stat().st_mtime > 60:
            path.unlink(missing_ok=True)
