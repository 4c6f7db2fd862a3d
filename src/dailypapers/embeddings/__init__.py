"""Embeddings: the vectors that make search understand meaning.

- :class:`Embedder` (``encoder.py``): ``encode`` for papers in bulk, ``encode_query`` for a search.
- :func:`get_embedder` (``models.py``): the process-wide, lazily loaded embedder of a model; importing
  this package imports neither torch nor onnxruntime, so the web app starts fast and keyword search
  works before any model loads. :func:`check_embedding_model` is the cheap start-up check.
- Backends: ``onnx_backend.py`` (exported once, int8 on CPU, fp16 on CUDA) and ``torch_backend.py``
  (plain sentence-transformers, any model).
- :func:`paper_text` (``text.py``): what gets embedded — title and abstract.
- ``store.py``: vectors in ``paper_embeddings`` and :func:`embed_pending`, the resumable bulk run
  behind ``dailypapers embed`` and the background job.
"""

from dailypapers.embeddings.encoder import (
    BatchFunctionBackend,
    Embedder,
    EmbeddingModelError,
    normalise,
)
from dailypapers.embeddings.models import (
    check_embedding_model,
    forget_embedders,
    get_embedder,
    register_embedder,
)
from dailypapers.embeddings.text import paper_text, query_text

__all__ = [
    "BatchFunctionBackend",
    "Embedder",
    "EmbeddingModelError",
    "check_embedding_model",
    "forget_embedders",
    "get_embedder",
    "normalise",
    "paper_text",
    "query_text",
    "register_embedder",
]
