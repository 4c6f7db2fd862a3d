"""A tiny deterministic embedder for tests: hashed bag of words, so shared words mean closeness.

Register it with ``use_fake_embedder(settings)``; ``get_embedder`` then returns it for that model name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from dailypapers.config import Settings
from dailypapers.embeddings import BatchFunctionBackend, Embedder, register_embedder

FAKE_MODEL = "test/fake-bag-of-words"
DIM = 32


def _embed(texts: Sequence[str]) -> np.ndarray:
    out = np.zeros((len(texts), DIM), np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            out[row, h % DIM] += 1.0 if h & 1 << 20 else -1.0
        out[row, (len(text) * 7) % DIM] += 0.01  # never the zero vector
    return out


def fake_embedder(model_name: str = FAKE_MODEL) -> Embedder:
    return Embedder(model_name, DIM, BatchFunctionBackend(_embed))


def use_fake_embedder(settings: Settings, model_name: str = FAKE_MODEL) -> Embedder:
    """Point ``settings`` at a registered fake model; returns the embedder."""
    embedder = fake_embedder(model_name)
    register_embedder(embedder)
    settings.embedding_model = model_name
    return embedder
