"""Embeddings: the vectors that make search understand meaning.

- :class:`Embedder` (``encoder.py``): ``encode`` for papers in bulk, ``encode_query`` for a search.
- :class:`Embedders` (``loader.py``): the embedders a process has loaded, each lazily on first use;
  importing this package imports neither torch nor onnxruntime, so the web app starts fast and
  keyword search works before any model loads. :func:`check_embedding_model` is the cheap start-up
  check; :func:`register_embedder` adds a model by name (custom models, tests).
- ``model_files.py``: where a model's files are (a path, the bundled MiniLM, the offline HF cache).
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
from dailypapers.embeddings.loader import (
    Embedders,
    check_embedding_model,
    load_embedder,
    register_embedder,
)
from dailypapers.embeddings.text import paper_text, query_text

__all__ = [
    "BatchFunctionBackend",
    "Embedder",
    "Embedders",
    "EmbeddingModelError",
    "check_embedding_model",
    "load_embedder",
    "normalise",
    "paper_text",
    "query_text",
    "register_embedder",
]
