"""The :class:`Embedder`: batches texts by length, runs a backend, keeps recent queries.

A backend turns batches of texts into L2-normalised float32 rows. The ONNX and torch backends live
in their own modules and are imported only when a model is loaded, so importing this is cheap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dailypapers.embeddings.text import query_text

Vectors = npt.NDArray[np.float32]


class EmbeddingModelError(Exception):
    """The configured embedding model cannot be found or loaded (names the setting)."""


class Backend(Protocol):
    """Computes embeddings; it may work ahead (tokenise the next batch while this one runs)."""

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]: ...


class BatchFunctionBackend:
    """A backend from a plain function that embeds one batch (used for tests and simple models)."""

    def __init__(self, embed_batch: Callable[[Sequence[str]], Vectors]) -> None:
        self._embed_batch = embed_batch

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]:
        for batch in batches:
            yield self._embed_batch(batch)


def normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    result: Vectors = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return result


class Embedder:
    """One embedding model: ``encode`` for papers (in bulk), ``encode_query`` for searches."""

    def __init__(
        self, model_name: str, dim: int, backend: Backend, *, query_cache_size: int = 512
    ) -> None:
        self.model_name = model_name
        self.dim = dim
        self.backend = backend
        self._queries: OrderedDict[str, Vectors] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._lock = threading.Lock()

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> Vectors:
        """Unit vectors, one row per text in input order; batches hold texts of similar length."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        groups = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches = ([texts[i] for i in group] for group in groups)
        for group, vectors in zip(groups, self.backend.embed_batches(batches), strict=True):
            out[group] = normalise(vectors)
            if progress is not None:
                progress(len(group))
        return out

    def encode_query(self, text: str) -> Vectors:
        """The vector of one search query (read-only; recent queries come from a cache)."""
        key = query_text(text)
        with self._lock:
            cached = self._queries.get(key)
            if cached is not None:
                self._queries.move_to_end(key)
                return cached
        vector: Vectors = normalise(next(iter(self.backend.embed_batches([[key]]))))[0]
        vector.setflags(write=False)
        with self._lock:
            self._queries[key] = vector
            while len(self._queries) > self._query_cache_size:
                self._queries.popitem(last=False)
        return vector
