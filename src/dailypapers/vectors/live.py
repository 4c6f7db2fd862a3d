"""Keeping a process's vector index current: :meth:`LiveIndexes.open`, called per request, is cheap.

On PostgreSQL there is nothing to keep: the database searches its own vectors (pgvector), and
``open`` hands out a :class:`~dailypapers.vectors.pgvector.PgVectorIndex` for the serving model
(the same model-switch rule applies). What follows is the SQLite side, where each process holds
its index in memory.

The index is loaded once per :class:`LiveIndexes` (one per process) and database; an HNSW index is
loaded from its saved file when that verifies (else rebuilt from the database, with a warning) and
saved again in the background as it catches up. Each call catches up with two indexed queries:
vector rows above the index's watermark (new or re-embedded papers) and a (count, latest) summary
of deleted papers, re-reading the deleted ids only when that summary changed.

Model switch rule: the configured model serves as soon as it has at least as many vectors as any
other model stored; until then the model with the most vectors keeps serving (queries must then be
embedded with ``index.model_name``). While the two differ the counts are re-checked every
``MODEL_CHECK_S`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.db.vector_store import vector_store
from dailypapers.embeddings.model_files import model_slug
from dailypapers.vectors import mapped
from dailypapers.vectors.base import Ids, Matrix, VectorIndex
from dailypapers.vectors.exact import ExactIndex, Int8ExactIndex
from dailypapers.vectors.hnsw import HnswIndex, StaleIndex, load_saved
from dailypapers.vectors.mapped import (
    MappedIndex,
    header_stamp,
    map_hnsw,
    map_matrix,
    rebase_in_background,
    save_matrix,
)
from dailypapers.vectors.pgvector import PgVectorIndex, VectorCount

log = logging.getLogger(__name__)

MODEL_CHECK_S = 30.0
SAVE_EVERY_S = 60.0  # an HNSW index that caught up is saved at most this often
READ_CHUNK = 20_000


@dataclass
class _Live:
    index: VectorIndex
    watermark: int
    deleted: set[int] = field(default_factory=set)
    deleted_summary: tuple[Any, ...] = ()
    models_checked_at: float = 0.0
    folder: Path | None = None  # where an HNSW index is saved
    saved_watermark: int = -1
    saved_at: float = 0.0
    saving: bool = False
    stamp: tuple[int, int] | None = None  # a mapped index's header when it was mapped


@dataclass
class _InDatabase:
    """PostgreSQL: which model serves (rechecked like an in-memory index's) and its vector count."""

    model: str
    dim: int
    count: VectorCount = field(default_factory=VectorCount)
    models_checked_at: float = field(default_factory=time.monotonic)


class LiveIndexes:
    """The vector indexes one process keeps current, one per database and data directory.

    Owned by whoever runs the process (see :class:`dailypapers.runtime.Runtime`): the web app
    answers searches from it and the embedding job, run in the same process, catches it up and
    saves it, so there is one copy of each index in memory.
    """

    def __init__(self) -> None:
        self._live: dict[str, _Live] = {}
        self._in_database: dict[str, _InDatabase] = {}
        self._switching: set[str] = set()  # keys whose next model's index is being built
        self._lock = threading.Lock()

    def open(self, settings: Settings, engine: Engine) -> VectorIndex | None:
        """The current vector index for this database, or None while nothing is embedded.

        The first call builds (or loads) the index; later calls only catch up. When another
        model takes over, its index is built on a background thread while the old one answers.
        """
        key = _key(settings, engine)
        if vector_store(engine).searches_in_sql:
            return self._open_in_database(settings, engine, key)
        with self._lock:
            live = self._live.get(key)
            if live is None:
                model = serving_model(engine, settings.embedding_model)
                if model is None:
                    return None
                live = self._live[key] = _build(settings, engine, model)
                live.models_checked_at = time.monotonic()
            elif (
                live.index.model_name != settings.embedding_model
                and time.monotonic() - live.models_checked_at > MODEL_CHECK_S
            ):
                live.models_checked_at = time.monotonic()
                model = serving_model(engine, settings.embedding_model)
                if (
                    model is not None
                    and model != live.index.model_name
                    and key not in self._switching
                ):
                    self._switch_in_background(settings, engine, key, model)
            if isinstance(live.index, MappedIndex):
                live = self._remap_if_moved(settings, engine, key, live)
            catch_up(engine, live)
            _save_soon(live)
            return live.index if len(live.index) else None

    def _remap_if_moved(self, settings: Settings, engine: Engine, key: str, live: _Live) -> _Live:
        """Map the new file when a process wrote one (its header changed since we mapped ours)."""
        assert live.folder is not None
        if header_stamp(live.folder, live.index.kind) == live.stamp:
            return live
        try:
            fresh = _open_mapped(settings, engine, live.index.model_name, live.index.dim,
                                 live.index.kind, build=False)  # fmt: skip
        except StaleIndex as exc:
            log.warning("vector index in %s not remapped: %s", live.folder, exc)
            live.stamp = header_stamp(live.folder, live.index.kind)
            return live
        self._live[key] = fresh
        return fresh

    def _open_in_database(self, settings: Settings, engine: Engine, key: str) -> VectorIndex | None:
        with self._lock:
            entry = self._in_database.get(key)
            due = entry is not None and (
                entry.model != settings.embedding_model
                and time.monotonic() - entry.models_checked_at > MODEL_CHECK_S
            )
            if entry is None or due:
                model = serving_model(engine, settings.embedding_model)
                if model is None:
                    return None
                if entry is None or entry.model != model:
                    if entry is not None:
                        log.info("vector index: %s now serves", model)
                    entry = _InDatabase(model, _model_dim(engine, model))
                    self._in_database[key] = entry
                entry.models_checked_at = time.monotonic()
        index = PgVectorIndex(engine, entry.model, entry.dim, entry.count)
        return index if len(index) else None

    def _switch_in_background(
        self, settings: Settings, engine: Engine, key: str, model: str
    ) -> None:
        self._switching.add(key)

        def run() -> None:
            try:
                new = _build(settings, engine, model)
                new.models_checked_at = time.monotonic()
                with self._lock:
                    self._live[key] = new
                log.info("vector index: %s now serves", model)
            except Exception:  # keep serving the old index; the next check tries again
                log.exception("vector index for %s could not be built", model)
            finally:
                self._switching.discard(key)

        threading.Thread(target=run, name="switch-vector-index", daemon=True).start()

    def switching(self) -> bool:
        """True while an index for a newly serving model is being built (tests wait on it)."""
        return bool(self._switching)

    def save_current(self, settings: Settings, engine: Engine) -> None:
        """Save this database's index now if it is an HNSW index that moved since its last save."""
        with self._lock:
            live = self._live.get(_key(settings, engine))
            if live is not None:
                save_index(live)


def _key(settings: Settings, engine: Engine) -> str:
    return f"{engine.url.render_as_string(hide_password=False)}|{settings.data_dir.resolve()}"


def serving_model(engine: Engine, configured: str) -> str | None:
    """The model whose vectors serve now (see the module docstring), None when there are none."""
    with engine.connect() as conn:
        counts: dict[str, int] = dict(
            conn.execute(text("SELECT model, count(*) FROM paper_embeddings GROUP BY model")).all()
        )
    if not counts:
        return None
    best = max(counts, key=lambda m: (counts[m], m == configured))
    return configured if counts.get(configured, 0) >= counts[best] else best


def _build(settings: Settings, engine: Engine, model: str) -> _Live:
    dim = _model_dim(engine, model)
    kind = index_kind(settings, engine, model)
    if settings.vector_mmap and kind in ("hnsw", "exact"):
        live = _open_mapped(settings, engine, model, dim, kind)
    elif kind == "hnsw":
        live = _open_hnsw(settings, engine, model, dim)
    else:
        index: VectorIndex = (
            Int8ExactIndex(model, dim, lambda ids: read_vectors_of(engine, model, ids))
            if kind == "exact-int8"
            else ExactIndex(model, dim)
        )
        live = _Live(index, watermark=0)
        catch_up(engine, live)
    log.info("vector index: %s, %d vectors of %s", live.index.kind, len(live.index), model)
    return live


def index_kind(settings: Settings, engine: Engine, model: str) -> str:
    """The configured kind; under ``auto`` exact below ``hnsw_threshold`` vectors, HNSW from there."""
    if settings.vector_index != "auto":
        return settings.vector_index
    with engine.connect() as conn:
        count = conn.scalar(
            text("SELECT count(*) FROM paper_embeddings WHERE model = :m"), {"m": model}
        )
    return "hnsw" if int(count or 0) >= settings.hnsw_threshold else "exact"


def index_folder(settings: Settings, model: str) -> Path:
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    return settings.data_dir / "vectors" / f"{model_slug(model)}-{digest}"


def _open_hnsw(settings: Settings, engine: Engine, model: str, dim: int) -> _Live:
    folder = index_folder(settings, model)
    try:
        saved = load_saved(folder, model, dim)
        _verify_sample(engine, saved.index, saved.watermark)
        live = _Live(saved.index, watermark=saved.watermark, folder=folder)
        live.saved_watermark = saved.watermark
    except StaleIndex as exc:
        if (folder / "current.json").exists():
            log.warning(
                "vector index in %s not used: %s; rebuilding from the database", folder, exc
            )
        live = _Live(HnswIndex(model, dim), watermark=0, folder=folder)
    catch_up(engine, live)
    save_index(live)
    # (its int8 codes for filtered search are made at the first exact search among a filter's
    # papers, HnswIndex.nearest_among: a web process with a filter catalogue never needs them, a
    # command that only embeds neither)
    return live


def _open_mapped(
    settings: Settings, engine: Engine, model: str, dim: int, kind: str, *, build: bool = True
) -> _Live:
    """Map the saved file (vectors/mapped.py); with none usable (and ``build``), build the index
    in this process from the database, save it, let go of it and map what was saved."""
    folder = index_folder(settings, model)
    stamp = header_stamp(folder, kind)
    try:
        index, watermark = (
            map_hnsw(folder, model, dim) if kind == "hnsw" else map_matrix(folder, model, dim)
        )
        _verify_sample(engine, index, watermark)
    except StaleIndex as exc:
        if not build:
            raise
        if stamp is not None:
            log.warning(
                "vector index in %s not used: %s; rebuilding from the database", folder, exc
            )
        if kind == "hnsw":
            _open_hnsw(settings, engine, model, dim)  # builds and saves it
        else:
            built = _Live(ExactIndex(model, dim), watermark=0)
            catch_up(engine, built)
            keys, matrix = _exact_rows(built.index)
            save_matrix(folder, model, keys, matrix, built.watermark)
        stamp = header_stamp(folder, kind)
        index, watermark = (
            map_hnsw(folder, model, dim) if kind == "hnsw" else map_matrix(folder, model, dim)
        )
    live = _Live(index, watermark=watermark, folder=folder, saved_watermark=watermark, stamp=stamp)
    catch_up(engine, live)
    return live


def _exact_rows(index: VectorIndex) -> tuple[Ids, Matrix]:
    found = index.vectors_for(list(index._row)) if isinstance(index, ExactIndex) else {}
    keys = np.fromiter(found, np.int64, len(found))
    return keys, np.stack(list(found.values())) if found else np.empty((0, index.dim), np.float32)


def _verify_sample(engine: Engine, index: VectorIndex, watermark: int, size: int = 16) -> None:
    """The newest vectors up to the watermark must be in the file as the database has them."""
    with engine.connect() as conn:
        newest = conn.scalar(
            text("SELECT max(id) FROM paper_embeddings WHERE model = :m"), {"m": index.model_name}
        )
        ids = conn.scalars(
            text(
                "SELECT e.paper_id FROM paper_embeddings e JOIN papers p ON p.id = e.paper_id "
                "WHERE e.model = :m AND e.id <= :w AND p.deleted_at IS NULL ORDER BY e.id DESC LIMIT :n"
            ),
            {"m": index.model_name, "w": watermark, "n": size},
        ).all()
        stored = vector_store(conn).read_of(conn, index.model_name, ids)
    if watermark > int(newest or 0):
        raise StaleIndex("it is newer than the database (was the database replaced?)")
    saved = index.vectors_for(stored)
    for paper_id, vector in stored.items():
        found = saved.get(paper_id)
        if found is None or float(found @ vector) < 0.99:
            raise StaleIndex(f"paper {paper_id} differs from the database")


def save_index(live: _Live) -> None:
    """Persist an HNSW index whose watermark moved since its last save (no-op for exact ones)."""
    if not isinstance(live.index, HnswIndex) or live.folder is None:
        return
    if live.saved_watermark == live.watermark:
        return
    live.index.save(live.folder, live.watermark)
    live.saved_watermark = live.watermark
    live.saved_at = time.monotonic()


def _save_soon(live: _Live) -> None:
    """Save in the background at most every ``SAVE_EVERY_S`` seconds, off the request path."""
    if isinstance(live.index, MappedIndex):
        _rebase_soon(live)
        return
    if (
        not isinstance(live.index, HnswIndex)
        or live.saved_watermark == live.watermark
        or live.saving
        or time.monotonic() - live.saved_at < SAVE_EVERY_S
    ):
        return
    live.saving = True

    def run() -> None:
        try:
            save_index(live)
        except OSError as exc:
            log.warning("could not save the vector index: %s", exc)
        finally:
            live.saving = False

    threading.Thread(target=run, name="save-vector-index", daemon=True).start()


def _rebase_soon(live: _Live) -> None:
    """A mapped index whose delta reached ``REBASE_AT``: write a new file (one process at a time,
    by a file lock; the others map it when they see its header change)."""
    index = live.index
    if (
        not isinstance(index, MappedIndex)
        or live.folder is None
        or len(index.delta) + len(index.hidden) < mapped.REBASE_AT
        or live.saving
        or time.monotonic() - live.saved_at < SAVE_EVERY_S
    ):
        return
    live.saving, live.saved_at = True, time.monotonic()

    def done() -> None:
        live.saving = False

    rebase_in_background(live.folder, index, live.watermark, live.stamp, done)


def _model_dim(engine: Engine, model: str) -> int:
    with engine.connect() as conn:
        dim = conn.scalar(
            text("SELECT dim FROM paper_embeddings WHERE model = :m ORDER BY id DESC LIMIT 1"),
            {"m": model},
        )
    return int(dim)


def catch_up(engine: Engine, live: _Live) -> None:
    """Add vectors written since the watermark; drop papers deleted since the last call."""
    model = live.index.model_name
    for row_ids, paper_ids, matrix in read_vectors(engine, model, live.watermark):
        keep = np.array([pid not in live.deleted for pid in paper_ids.tolist()], bool)
        live.index.add(paper_ids[keep], matrix[keep])
        live.watermark = int(row_ids[-1])
    _sync_deleted(engine, live)


def _sync_deleted(engine: Engine, live: _Live) -> None:
    with engine.connect() as conn:
        summary = tuple(
            conn.execute(
                text("SELECT count(*), max(deleted_at) FROM papers WHERE deleted_at IS NOT NULL")
            ).one()
        )
        if summary == live.deleted_summary:
            return
        deleted = set(
            conn.scalars(text("SELECT id FROM papers WHERE deleted_at IS NOT NULL")).all()
        )
    live.index.remove(sorted(deleted - live.deleted))
    restored = live.deleted - deleted
    live.deleted, live.deleted_summary = deleted, summary
    if restored:
        vectors = read_vectors_of(engine, live.index.model_name, sorted(restored))
        if vectors:
            live.index.add(list(vectors), np.stack(list(vectors.values())))


def read_vectors(
    engine: Engine, model: str, after: int = 0, chunk: int = READ_CHUNK
) -> Iterator[tuple[Ids, Ids, Matrix]]:
    """(row ids, paper ids, vectors) of ``model`` with row id above ``after``, in id order."""
    while True:
        with engine.connect() as conn:
            found = vector_store(conn).read_after(conn, model, after, chunk)
        if found is None:
            return
        yield found
        after = int(found[0][-1])


def read_vectors_of(engine: Engine, model: str, paper_ids: list[int]) -> dict[int, Matrix]:
    """The stored vectors of some papers under ``model`` (those that have one)."""
    with engine.connect() as conn:
        return vector_store(conn).read_of(conn, model, paper_ids)
