"""Embedding runs: the ``dailypapers embed`` command, the background job and the demo's thread.

One run at a time per instance (a lease in the database): a second one returns at once. A run embeds
what is pending under the configured model, then brings the process's vector index up to date (and
saves it when it is an HNSW index), so a server started next finds a current file.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.db.engine import make_engine
from dailypapers.embeddings.encoder import EmbeddingModelError
from dailypapers.embeddings.store import EmbedCounts, embed_pending
from dailypapers.runtime import Runtime
from dailypapers.services.enrich_jobs import map_job, summaries_job

log = logging.getLogger(__name__)

LEASE = "embed"
LEASE_S = 300.0  # renewed while the run makes progress; a crashed run frees it after this


@dataclass
class EmbedRun:
    model: str
    counts: EmbedCounts
    seconds: float  # embedding only, without loading the model
    index: str = ""  # e.g. "hnsw, 33,641 vectors"
    busy: bool = False  # another run held the lease: nothing done

    def line(self) -> str:
        if self.busy:
            return "another embedding run is in progress; nothing done"
        rate = self.counts.embedded / self.seconds if self.seconds > 0 else 0.0
        text = f"{self.counts.line()} with {self.model} in {self.seconds:.1f} s ({rate:.1f}/s)"
        return f"{text}; vector index: {self.index}" if self.index else text


def run_embedding(
    engine: Engine,
    settings: Settings,
    runtime: Runtime,
    *,
    batch_size: int = 64,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> EmbedRun:
    """Embed pending papers under the configured model (raises ``EmbeddingModelError``)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    if not locks.acquire(engine, LEASE, holder, now=time.time(), lease_s=LEASE_S):
        return EmbedRun(settings.embedding_model, EmbedCounts(), 0.0, busy=True)
    try:
        embedder = runtime.embedders.get(settings)  # the first use loads (or exports) the model
        start = time.monotonic()
        renewed = [start]

        def advance(count: int) -> None:
            if time.monotonic() - renewed[0] > LEASE_S / 5:
                locks.renew(engine, LEASE, holder, now=time.time(), lease_s=LEASE_S)
                renewed[0] = time.monotonic()
            if progress is not None:
                progress(count)

        counts = embed_pending(
            engine, embedder, batch_size=batch_size, limit=limit, progress=advance
        )
    finally:
        locks.release(engine, LEASE, holder)
    return EmbedRun(
        embedder.model_name,
        counts,
        time.monotonic() - start,
        _refresh_index(engine, settings, runtime),
    )


def _refresh_index(engine: Engine, settings: Settings, runtime: Runtime) -> str:
    index = runtime.indexes.open(settings, engine)
    if index is None:
        return ""
    runtime.indexes.save_current(settings, engine)
    return f"{index.kind}, {len(index):,} vectors of {index.model_name}"


def embed_job(settings: Settings, runtime: Runtime) -> tuple[str, bool]:
    """The background job: embed what is pending; errors are logged, never raised. Returns its
    line and whether it finished (not when another run held the lease: a run that died keeps it
    until it lapses, so the job is tried again later)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        run = run_embedding(engine, settings, runtime)
    except EmbeddingModelError as exc:
        log.error("embedding job: %s", exc)
        return f"failed: {exc}", True
    finally:
        engine.dispose()
    if run.counts.embedded or run.busy:
        log.info("embedding job: %s", run.line())
    return run.line(), not run.busy


def embed_in_background(
    settings: Settings, runtime: Runtime, delay_s: float = 2.0
) -> threading.Thread:
    """Embed in a daemon thread (the demo: serving starts at once, keyword search works meanwhile),
    with the key phrases before and the map after;
    ``runtime``: the web app's, so the index it catches up is the one that serves."""

    def run() -> None:
        time.sleep(delay_s)  # let the web server start first
        summaries_job(settings)  # key phrases and TL;DRs: seconds, no model needed
        embed_job(settings, runtime)
        map_job(settings)  # the map needs the vectors

    thread = threading.Thread(target=run, name="embed-background", daemon=True)
    thread.start()
    return thread
