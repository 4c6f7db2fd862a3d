"""Plain sentence-transformers: works for any model it can load; the reference for the ONNX path.

On CUDA the model runs in fp16 and the next batches are tokenised (into pinned memory) on threads
while the GPU works on the current one: single-threaded tokenising, not the GPU, was the limit.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dailypapers.embeddings.encoder import Embedder, EmbeddingModelError, Vectors
from dailypapers.embeddings.model_files import SETTING

PREFETCH = 4  # batches tokenised ahead of the GPU


class TorchBackend:
    """Runs a SentenceTransformer batch by batch; pipelined (tokenising ahead) on CUDA."""

    def __init__(self, model: Any, device: str = "cpu", *, pipelined: bool | None = None) -> None:
        self.model = model
        self.device = device
        self.pipelined = device == "cuda" if pipelined is None else pipelined

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]:
        if self.pipelined:
            yield from self._pipelined(batches)
            return
        for batch in batches:
            vectors = self.model.encode(
                list(batch),
                batch_size=max(1, len(batch)),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            yield np.asarray(vectors, dtype=np.float32)

    def _tokenise(self, batch: Sequence[str]) -> dict[str, Any]:
        features = self.model.tokenize(list(batch))
        if self.device == "cuda":
            features = {k: _pinned(v) for k, v in features.items()}
        return dict(features)

    def _pipelined(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]:
        pending: deque[Future[dict[str, Any]]] = deque()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokenise") as pool:
            for batch in batches:
                pending.append(pool.submit(self._tokenise, batch))
                if len(pending) > PREFETCH:
                    yield self._forward(pending.popleft().result())
            while pending:
                yield self._forward(pending.popleft().result())

    def _forward(self, features: dict[str, Any]) -> Vectors:
        import torch

        on_device = {
            k: v.to(self.device, non_blocking=True) if hasattr(v, "to") else v
            for k, v in features.items()
        }
        with torch.inference_mode():
            vectors = self.model(on_device)["sentence_embedding"]
            vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
        return np.asarray(vectors.cpu().numpy(), dtype=np.float32)


def _pinned(value: Any) -> Any:
    return value.pin_memory() if hasattr(value, "pin_memory") else value


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
    model.eval()
    method = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    dim = method()
    if not dim:
        raise EmbeddingModelError(f"{SETTING}={name!r}: the model does not say its dimension")
    return Embedder(name, int(dim), TorchBackend(model, device))
