"""Plain sentence-transformers: works for any model it can load; the reference for the ONNX path."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dailypapers.embeddings.encoder import Embedder, EmbeddingModelError, Vectors
from dailypapers.embeddings.models import SETTING


class TorchBackend:
    """Runs a SentenceTransformer batch by batch (fp16 on CUDA)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]:
        for batch in batches:
            vectors = self.model.encode(
                list(batch),
                batch_size=max(1, len(batch)),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            yield np.asarray(vectors, dtype=np.float32)


def load_torch(name: str, path: Path, max_length: int, device: str) -> Embedder:
    """A sentence-transformers embedder for the model in ``path``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(path), device=device, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise EmbeddingModelError(f"{SETTING}={name!r}: cannot load the model: {exc}") from exc
    model.max_seq_length = min(max_length, model.max_seq_length or max_length)
    if device == "cuda":
        model.half()
    method = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    dim = method()
    if not dim:
        raise EmbeddingModelError(f"{SETTING}={name!r}: the model does not say its dimension")
    return Embedder(name, int(dim), TorchBackend(model))
