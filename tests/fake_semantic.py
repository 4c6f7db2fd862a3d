"""A tiny deterministic stand-in for the embedding model and the vector index, for search tests.

The encoder maps words to "concepts" (neurons, spiking and brain share one dimension, so a query
for neurons is near a paper on spiking networks that never says "neurons"); other words land in
hashed dimensions. The index is the real exact index.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, text

from dailypapers.embeddings import Embedder
from dailypapers.search.semantic import SemanticSource
from dailypapers.vectors import ExactIndex

DIM = 24
MODEL = "test/fake-concepts"
CONCEPTS = {
    **dict.fromkeys(["neuron", "neurons", "spiking", "brain", "cortex", "elegans"], 0),
    **dict.fromkeys(["diffusion", "denoising", "score"], 1),
    **dict.fromkeys(["graph", "graphs", "node", "nodes"], 2),
    **dict.fromkeys(["protein", "proteins", "folding", "molecule"], 3),
}
_WORD = re.compile(r"[a-z]+")
_STOP = {"a", "an", "the", "of", "for", "with", "we", "in", "on", "and", "to", "by", "our"}


class CountingBackend:
    """Embeds batches with :func:`encode`, counting the texts it was asked for."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[NDArray[np.float32]]:
        for batch in batches:
            self.texts.extend(batch)
            yield np.stack([encode(t) for t in batch]) if batch else np.zeros((0, DIM), np.float32)


def FakeEncoder() -> Embedder:  # noqa: N802 - reads like the class it stands for
    """An :class:`Embedder` over the concept encoding (``.backend.texts`` lists what it embedded)."""
    return Embedder(MODEL, DIM, CountingBackend())


def encode(text: str) -> NDArray[np.float32]:
    vector = np.zeros(DIM, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        dim = CONCEPTS.get(word, 4 + zlib.crc32(word.encode()) % (DIM - 4))
        vector[dim] += 3.0 if word in CONCEPTS else 1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def FakeIndex(vectors: dict[int, NDArray[np.float32]] | None = None) -> ExactIndex:  # noqa: N802
    """The real exact index holding these vectors (paper id -> unit vector)."""
    matrix = np.stack(list(vectors.values())) if vectors else np.zeros((0, DIM), np.float32)
    index = ExactIndex(MODEL, matrix.shape[1])
    index.add(list(vectors or {}), matrix)
    return index


def embed_all(engine: Engine, *, skip: Sequence[str] = ()) -> ExactIndex:
    """An index of every paper's title + abstract except the arXiv ids in ``skip``."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, arxiv_id, title, abstract FROM papers")).all()
    return FakeIndex({int(r[0]): encode(f"{r[2]}. {r[3]}") for r in rows if r[1] not in set(skip)})


def fake_source(index: ExactIndex, encoder: Embedder | None = None) -> SemanticSource:
    """A source that is ready at once (no background thread)."""
    chosen = encoder or FakeEncoder()
    return SemanticSource(lambda: index, lambda _model: chosen, background=False)
