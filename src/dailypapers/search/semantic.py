"""Where a web process gets the dense half of hybrid search, without ever waiting for a model.

The first request that finds vectors starts loading the query encoder on a background thread
(loading torch or ONNX takes seconds); until it is ready — and whenever no vectors exist, or the
model cannot be loaded — searches run on keywords alone and :attr:`SemanticSource.status` says why.
The encoder always matches the index's model (while a model switch re-embeds, the old model's
vectors and encoder keep serving). While papers are still being embedded (a first start, a big
import) meaning serves only those with vectors: the status is then ``partial`` (the page says so).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from dailypapers.db.engine import database_unavailable
from dailypapers.recount import Recount
from dailypapers.search.hybrid import QueryEncoder, Semantic
from dailypapers.vectors import VectorIndex

log = logging.getLogger(__name__)

# After a query encoder failed to load, keywords alone answer; the next search this long after
# tries again (a load can fail for a passing reason: with Python 3.11.7, ``import torch`` on the
# loading thread once met "AST constructor recursion depth mismatch" from a compile on another
# thread, and the process had searched by keywords only until restarted).
ENCODER_RETRY_S = 60.0

Status = Literal["ready", "partial", "loading", "no-vectors", "unavailable"]
# How often the number of papers is recounted to tell whether every paper has a vector (a count
# over the papers' deleted_at index: tens of milliseconds at 1 M papers on SQLite, 330 ms at
# 2.5 M on PostgreSQL, so not per request). The first count is made by the request that needs it;
# later ones on a thread of their own (with ``background``), requests meanwhile taking the last.
COVERAGE_CHECK_S = 15.0


class SemanticSource:
    """Hands out a :class:`Semantic` pair when vectors exist and their model's encoder is warm.

    The first look at the index (reading every stored vector) and each model's first load run on
    a background thread; requests meanwhile search by keywords. Later looks at the index are
    cheap catch-ups (``open_index`` keeps it current by a watermark) and run inline.
    """

    def __init__(
        self,
        open_index: Callable[[], VectorIndex | None],
        encoder_for: Callable[[str], QueryEncoder],
        *,
        background: bool = True,
        count_papers: Callable[[], int] | None = None,
    ) -> None:
        self._open_index = open_index
        self._encoder_for = encoder_for
        self._background = background
        self._count_papers = count_papers
        self._papers = Recount("count-papers")  # live papers
        self._lock = threading.Lock()
        self._index_opened = threading.Event()
        self._index_opening = False
        self._encoders: dict[str, QueryEncoder] = {}
        self._loading: set[str] = set()
        self._failed: dict[str, float] = {}  # model -> when its encoder last failed to load

    def index(self) -> tuple[VectorIndex | None, Status]:
        """The vector index as it is now (no encoder needed: similar papers use stored vectors)."""
        if not self._index_opened.is_set():
            with self._lock:
                starting = not self._index_opening
                self._index_opening = True
            if starting and self._background:
                threading.Thread(target=self._first_open, name="open-index", daemon=True).start()
            elif starting:
                self._first_open()
            if not self._index_opened.is_set():
                return None, "loading"
        try:
            index = self._open_index()
        except Exception as exc:  # a broken index must not break search: keywords still work
            if database_unavailable(exc):
                raise  # nothing works without the database: the request's 503
            log.exception("vector index unavailable; searching by keywords only")
            return None, "unavailable"
        if index is None or len(index) == 0:
            return None, "no-vectors"
        return index, "ready"

    def _first_open(self) -> None:
        try:
            self._open_index()
        except Exception as exc:
            if database_unavailable(exc):
                log.warning("vector index not opened: the database is not available")
            else:
                log.exception("vector index unavailable; searching by keywords only")
        finally:
            self._index_opened.set()

    def current(self) -> tuple[Semantic | None, Status]:
        """The encoder and index to search with now, or None and why (then search by keywords)."""
        index, status = self.index()
        if index is None:
            return None, status
        encoder = self._encoder(index.model_name)
        if encoder is None:
            return None, "unavailable" if index.model_name in self._failed else "loading"
        return Semantic(encoder, index), self._coverage(len(index))

    def _coverage(self, vectors: int) -> Status:
        """``partial`` while fewer papers have vectors than the database holds, else ``ready``."""
        if self._count_papers is None:
            return "ready"
        try:
            papers = self._papers.get(
                self._count_papers, COVERAGE_CHECK_S, inline=not self._background
            )
        except Exception:  # counting is a nicety: never let it break search
            log.exception("cannot count papers")
            return "ready"
        return "partial" if vectors < papers else "ready"

    def _encoder(self, model: str) -> QueryEncoder | None:
        with self._lock:
            if model in self._encoders:
                return self._encoders[model]
            failed = self._failed.get(model)
            if model in self._loading or (
                failed is not None and time.monotonic() - failed < ENCODER_RETRY_S
            ):
                return None
            self._loading.add(model)
        if not self._background:
            self._load(model)
            return self._encoders.get(model)
        threading.Thread(target=self._load, args=(model,), name="load-encoder", daemon=True).start()
        return None

    def _load(self, model: str) -> None:
        try:
            encoder = self._encoder_for(model)
            encoder.encode_query("warm up")  # loads the weights and compiles the first pass
        except Exception:
            log.exception("cannot load the query encoder for %s; searching by keywords only", model)
            with self._lock:
                self._failed[model] = time.monotonic()
                self._loading.discard(model)
            return
        with self._lock:
            self._encoders[model] = encoder
            self._loading.discard(model)
            self._failed.pop(model, None)
        log.info("semantic search ready (%s)", model)
