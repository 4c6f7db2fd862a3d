"""A tiny deterministic stand-in for the embedding model and the vector index, for search tests.

The encoder maps words to "concepts" (neurons, spiking and brain share one dimension, so a query
for neurons is near a paper on spiking networks that never says "neurons"); other words land in
hashed dimensions. The index is exact search over a dict of vectors.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, text

from dailypapers.search.semantic import SemanticSource

DIM = 24
CONCEPTS = {
    **dict.fromkeys(["neuron", "neurons", "spiking", "brain", "cortex", "elegans"], 0),
    **dict.fromkeys(["diffusion", "denoising", "score"], 1),
    **dict.fromkeys(["graph", "graphs", "node", "nodes"], 2),
    **dict.fromkeys(["protein", "proteins", "folding", "molecule"], 3),
}
_WORD = re.compile(r"[a-z]+")
_STOP = {"a", "an", "the", "of", "for", "with", "we", "in", "on", "and", "to", "by", "our"}


class FakeEncoder:
    model_name = "fake-concepts"
    dim = DIM

    def __init__(self) -> None:
        self.calls = 0

    def encode_query(self, text: str) -> NDArray[np.float32]:
        self.calls += 1
        return encode(text)


def encode(text: str) -> NDArray[np.float32]:
    vector = np.zeros(DIM, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        dim = CONCEPTS.get(word, 4 + zlib.crc32(word.encode()) % (DIM - 4))
        vector[dim] += 3.0 if word in CONCEPTS else 1.0
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class FakeIndex:
    """Exact cosine search over the vectors it was given (what ``VectorIndex`` promises)."""

    model_name = FakeEncoder.model_name
    kind = "exact"

    def __init__(self, vectors: dict[int, NDArray[np.float32]] | None = None) -> None:
        self.vectors: dict[int, NDArray[np.float32]] = dict(vectors or {})
        self.searches: list[int] = []

    def __len__(self) -> int:
        return len(self.vectors)

    def search(
        self, query: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        self.searches.append(k)
        ids = np.array(sorted(self.vectors), dtype=np.int64)
        if not len(ids):
            return ids, np.zeros(0, dtype=np.float32)
        scores = np.stack([self.vectors[int(i)] for i in ids]) @ query
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order].astype(np.float32)

    def vectors_for(self, ids: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        return {int(i): self.vectors[int(i)] for i in ids if int(i) in self.vectors}


def embed_all(engine: Engine, *, skip: Sequence[str] = ()) -> FakeIndex:
    """An index of every paper's title + abstract except the arXiv ids in ``skip``."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, arxiv_id, title, abstract FROM papers")).all()
    return FakeIndex({int(r[0]): encode(f"{r[2]}. {r[3]}") for r in rows if r[1] not in set(skip)})


def fake_source(index: FakeIndex, encoder: FakeEncoder | None = None) -> SemanticSource:
    """A source that is ready at once (no background thread)."""
    chosen = encoder or FakeEncoder()
    return SemanticSource(lambda: index, lambda _model: chosen, background=False)
