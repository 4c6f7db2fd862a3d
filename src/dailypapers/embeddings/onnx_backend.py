"""ONNX Runtime backend (being written): until it lands, ``auto`` uses sentence-transformers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.embeddings.encoder import Embedder

if TYPE_CHECKING:
    from dailypapers.config import Settings


class OnnxExportError(Exception):
    """The model cannot be exported to / run with ONNX; ``auto`` then falls back to torch."""


def load_onnx(name: str, path: Path, settings: Settings, device: str) -> Embedder:
    raise OnnxExportError("the ONNX backend is not available in this build yet")
