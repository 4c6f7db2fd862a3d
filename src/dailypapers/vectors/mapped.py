"""A saved vector index mapped read-only from its file, plus a small in-memory delta.

Every web process on a box maps the same file (an HNSW graph through usearch's view, or the exact
index's float32 matrix through ``numpy.memmap``), so the operating system keeps one copy in its
page cache for all of them instead of each process holding its own (1 M HNSW vectors: ~900 MB a
process). The file cannot change, so what happened since it was saved lives beside it:

- vectors added or re-embedded since (row id above the file's watermark) go into a small
  :class:`~dailypapers.vectors.exact.ExactIndex` (``delta``), searched alongside;
- papers removed (deleted) or re-embedded since are ``hidden``: the file's answers for them are
  dropped, asking the file for more until ``k`` remain.

So a search answers what the plain in-memory index would (``tests/test_vector_mmap.py`` checks it).
When the delta reaches ``REBASE_AT`` vectors, one process (a file lock picks it) writes a new file
holding everything and the others map it when they see its header change (``live.py``).

Exact-index files (``exact.json`` beside the HNSW ``current.json``): ``exact-*.ids.npy`` (paper ids,
ascending) and ``exact-*.vectors.npy`` (their float32 rows), written beside the old ones and the
header replaced atomically, like the HNSW file.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from dailypapers.vectors.base import Ids, Matrix, Scores, as_ids, top_k
from dailypapers.vectors.exact import ExactIndex
from dailypapers.vectors.hnsw import StaleIndex, load_saved

log = logging.getLogger(__name__)

REBASE_AT = 20_000  # delta vectors from which a new file is written
EXACT_HEADER = "exact.json"
EXACT_FORMAT = 1


class FrozenIndex(Protocol):
    """The read-only part: what a mapped file answers."""

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]: ...

    def contains(self, keys: Ids) -> npt.NDArray[np.bool_]: ...

    def get(self, keys: Ids) -> dict[int, npt.NDArray[np.float32]]: ...

    def __len__(self) -> int: ...


class UsearchView:
    """An HNSW graph mapped by usearch (``Index.restore(path, view=True)``, see ``load_saved``)."""

    def __init__(self, raw: Any) -> None:  # noqa: ANN401 - usearch is untyped
        self._index = raw

    def __len__(self) -> int:
        return len(self._index)

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        if k <= 0 or not len(self._index):
            return np.empty(0, np.int64), np.empty(0, np.float32)
        matches = self._index.search(np.asarray(query, np.float32), k)
        ids = np.asarray(matches.keys, np.int64)
        return ids, (1.0 - np.asarray(matches.distances, np.float32)).astype(np.float32)

    def contains(self, keys: Ids) -> npt.NDArray[np.bool_]:
        if not len(keys):
            return np.zeros(0, bool)
        return np.asarray(self._index.contains(keys.astype(np.uint64)), bool).reshape(-1)

    def get(self, keys: Ids) -> dict[int, npt.NDArray[np.float32]]:
        keys = keys[self.contains(keys)]
        if not len(keys):
            return {}
        found = self._index.get(keys.astype(np.uint64))
        rows = list(found) if isinstance(found, tuple | list) else list(np.atleast_2d(found))
        return {
            int(key): np.asarray(row, np.float32)
            for key, row in zip(keys.tolist(), rows, strict=True)
            if row is not None
        }


class MatrixView:
    """The exact index's rows mapped with ``numpy.load(mmap_mode="r")``; ids ascending."""

    def __init__(self, ids_path: Path, vectors_path: Path) -> None:
        try:
            self._ids: Ids = np.load(ids_path, mmap_mode="r")
            self._matrix: Matrix = np.load(vectors_path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise StaleIndex(f"{vectors_path.name} cannot be mapped ({exc})") from exc
        if self._ids.ndim != 1 or self._matrix.shape[0] != len(self._ids):
            raise StaleIndex(f"{vectors_path.name} does not match {ids_path.name}")
        self.path = vectors_path

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        scores: Scores = self._matrix @ np.asarray(query, np.float32)
        return top_k(np.asarray(self._ids), scores, min(k, len(self._ids)))

    def _rows(self, keys: Ids) -> tuple[Ids, npt.NDArray[np.intp]]:
        rows = np.searchsorted(self._ids, keys)
        rows = np.minimum(rows, max(len(self._ids) - 1, 0))
        hit = (self._ids[rows] == keys) if len(self._ids) else np.zeros(len(keys), bool)
        return keys[hit], rows[hit]

    def contains(self, keys: Ids) -> npt.NDArray[np.bool_]:
        if not len(self._ids):
            return np.zeros(len(keys), bool)
        rows = np.minimum(np.searchsorted(self._ids, keys), len(self._ids) - 1)
        return np.asarray(self._ids[rows] == keys, bool)

    def get(self, keys: Ids) -> dict[int, npt.NDArray[np.float32]]:
        found, rows = self._rows(keys)
        matrix = np.asarray(self._matrix[rows], np.float32)
        return {int(key): matrix[i] for i, key in enumerate(found.tolist())}


class MappedIndex:
    """A frozen, mapped index plus what changed since it was saved (see the module docstring)."""

    def __init__(self, model_name: str, dim: int, kind: str, base: FrozenIndex) -> None:
        self.model_name = model_name
        self.dim = dim
        self.kind = kind
        self.base = base
        self.delta = ExactIndex(model_name, dim)
        self.hidden: set[int] = set()  # keys of the file that no longer answer
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.base) - len(self.hidden) + len(self.delta)

    def __contains__(self, paper_id: object) -> bool:
        if not isinstance(paper_id, int | np.integer):
            return False
        key = int(paper_id)
        if key in self.delta:
            return True
        return key not in self.hidden and bool(self.base.contains(np.array([key], np.int64))[0])

    def _hide(self, keys: Ids) -> None:
        fresh = keys[[int(key) not in self.hidden for key in keys.tolist()]]
        if len(fresh):
            self.hidden.update(fresh[self.base.contains(fresh)].tolist())

    def add(self, ids: Iterable[int] | Ids, vectors: Matrix) -> None:
        keys = as_ids(ids)
        if not len(keys):
            return
        with self._lock:
            self._hide(keys)
            self.delta.add(keys, vectors)

    def remove(self, ids: Iterable[int] | Ids) -> None:
        keys = as_ids(ids)
        if not len(keys):
            return
        with self._lock:
            self._hide(keys)
            self.delta.remove(keys)

    def search(self, query: npt.NDArray[np.float32], k: int) -> tuple[Ids, Scores]:
        if k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        with self._lock:
            hidden = frozenset(self.hidden)
            delta = self.delta.search(query, k) if len(self.delta) else None
        want = k + min(len(hidden), 4 * k + 64)
        while True:
            ids, scores = self.base.search(query, want)
            if hidden:
                keep = np.fromiter((key not in hidden for key in ids.tolist()), bool, len(ids))
                ids, scores = ids[keep], scores[keep]
            if len(ids) >= k or want >= len(self.base):
                break
            want = min(4 * want, len(self.base))
        if delta is not None:
            ids, scores = np.concatenate([ids, delta[0]]), np.concatenate([scores, delta[1]])
        return top_k(ids, scores, k)

    def vectors_for(self, ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
        keys = as_ids(ids)
        with self._lock:
            found = self.delta.vectors_for(keys.tolist()) if len(self.delta) else {}
            rest = keys[[int(k) not in found and int(k) not in self.hidden for k in keys.tolist()]]
        found.update(self.base.get(rest))
        return found

    def delta_vectors(self) -> tuple[Ids, Matrix]:
        """The delta's (paper ids, vectors), for writing a new file."""
        with self._lock:
            found = self.delta.vectors_for(list(self.delta._row))
        keys = np.fromiter(found, np.int64, len(found))
        matrix = np.stack(list(found.values())) if found else np.empty((0, self.dim), np.float32)
        return keys, matrix


def save_matrix(folder: Path, model_name: str, keys: Ids, matrix: Matrix, watermark: int) -> None:
    """Write an exact-index file (ids ascending) and then, atomically, its header."""
    folder.mkdir(parents=True, exist_ok=True)
    order = np.argsort(keys, kind="stable")
    stem = f"exact-{watermark}-{os.getpid()}-{time.time_ns()}"
    np.save(folder / f"{stem}.ids.npy", np.ascontiguousarray(keys[order], np.int64))
    np.save(folder / f"{stem}.vectors.npy", np.ascontiguousarray(matrix[order], np.float32))
    header = {
        "format": EXACT_FORMAT,
        "model": model_name,
        "dim": int(matrix.shape[1]),
        "count": len(keys),
        "watermark": watermark,
        "stem": stem,
        "size": (folder / f"{stem}.vectors.npy").stat().st_size,
    }
    tmp = folder / f"{EXACT_HEADER}.{os.getpid()}"
    tmp.write_text(json.dumps(header, indent=1))
    tmp.replace(folder / EXACT_HEADER)
    for old in folder.glob("exact-*.npy"):
        if not old.name.startswith(stem) and time.time() - old.stat().st_mtime > 60:
            old.unlink(missing_ok=True)


def map_matrix(folder: Path, model_name: str, dim: int) -> tuple[MappedIndex, int]:
    """The saved exact index, mapped, and its watermark; raises ``StaleIndex`` saying why not."""
    try:
        header: dict[str, Any] = json.loads((folder / EXACT_HEADER).read_text())
        stem = str(header["stem"])
        found = (header["format"], header["model"], header["dim"])
    except FileNotFoundError:
        raise StaleIndex("no saved index") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StaleIndex(f"unreadable header ({exc})") from exc
    if found != (EXACT_FORMAT, model_name, dim):
        raise StaleIndex(f"built for {found[1]!r} (dim {found[2]}), not this model")
    vectors = folder / f"{stem}.vectors.npy"
    if not vectors.is_file() or vectors.stat().st_size != header["size"]:
        raise StaleIndex(f"{vectors.name} is missing or truncated")
    base = MatrixView(folder / f"{stem}.ids.npy", vectors)
    if len(base) != header["count"]:
        raise StaleIndex(f"{vectors.name} does not hold the {header['count']} vectors it should")
    return MappedIndex(model_name, dim, "exact", base), int(header["watermark"])


def map_hnsw(folder: Path, model_name: str, dim: int) -> tuple[MappedIndex, int]:
    """The saved HNSW graph, verified and mapped, and its watermark (raises ``StaleIndex``)."""
    saved = load_saved(folder, model_name, dim, view=True)
    return MappedIndex(model_name, dim, "hnsw", UsearchView(saved.index.raw)), saved.watermark


def write_rebased(folder: Path, index: MappedIndex, watermark: int) -> None:
    """Write a new file holding the mapped file's vectors (less the hidden) and the delta's."""
    keys, matrix = index.delta_vectors()
    hidden = np.fromiter(set(index.hidden), np.int64)
    if index.kind == "hnsw":
        full = load_saved(folder, index.model_name, index.dim)  # a private, writable copy
        if len(hidden):
            full.index.remove(hidden)
        full.index.add(keys, matrix)
        full.index.save(folder, watermark)
        return
    assert isinstance(index.base, MatrixView)
    base_ids = np.asarray(index.base._ids)
    keep = ~np.isin(base_ids, np.concatenate([hidden, keys]))
    save_matrix(
        folder,
        index.model_name,
        np.concatenate([base_ids[keep], keys]),
        np.concatenate([np.asarray(index.base._matrix[keep], np.float32), matrix]),
        watermark,
    )


def rebase_in_background(
    folder: Path, index: MappedIndex, watermark: int, stamp: object, done: Callable[[], None]
) -> None:
    """``write_rebased`` on a thread, unless another process is at it (a file lock) or already
    wrote a newer file than the one mapped (its header ``stamp`` moved); then ``done()``."""

    def run() -> None:
        try:
            with _file_lock(folder / "rebase.lock") as mine:
                if mine and header_stamp(folder, index.kind) == stamp:
                    write_rebased(folder, index, watermark)
        except (OSError, StaleIndex) as exc:
            log.warning("could not write a new vector index file: %s", exc)
        finally:
            done()

    threading.Thread(target=run, name="rebase-vector-index", daemon=True).start()


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    """Yield True when this process holds the lock (False while another does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def header_path(folder: Path, kind: str) -> Path:
    return folder / (EXACT_HEADER if kind == "exact" else "current.json")


def header_stamp(folder: Path, kind: str) -> tuple[int, int] | None:
    """(mtime, inode) of the header: changes when any process writes a new file."""
    try:
        stat = header_path(folder, kind).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_ino
