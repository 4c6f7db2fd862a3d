"""Loading the configured model once per process, lazily: :class:`Embedders`.

An :class:`Embedders` is owned by whoever runs the process (the app factory, the job runner, a CLI
command: see :class:`dailypapers.runtime.Runtime`); it loads each model on first use and keeps it.
Models registered by name with :func:`register_embedder` (custom models, the tests' small fake) are
the one process-wide table here: configuration set up at start, not a cache.
:func:`check_embedding_model` is the cheap start-up check that turns a wrong
``DAILYPAPERS_EMBEDDING_MODEL`` into one clear error.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.embeddings.encoder import Embedder, EmbeddingModelError
from dailypapers.embeddings.model_files import SETTING, resolve_model

if TYPE_CHECKING:
    from dailypapers.config import Settings

log = logging.getLogger(__name__)

_registered: dict[str, Embedder] = {}
_registered_lock = threading.Lock()


def check_embedding_model(settings: Settings) -> Path:
    """Fail early, cheaply, with a message naming the setting when the model cannot be found."""
    if registered_embedder(settings.embedding_model) is not None:
        return Path(settings.embedding_model)
    return resolve_model(settings.embedding_model)


def register_embedder(embedder: Embedder) -> None:
    """Make every :class:`Embedders` return this embedder for its model name (custom models;
    the tests' fake). Registering a name again replaces it."""
    with _registered_lock:
        _registered[embedder.model_name] = embedder


def registered_embedder(name: str) -> Embedder | None:
    with _registered_lock:
        return _registered.get(name)


class Embedders:
    """The embedders one process has loaded, each model loaded once, on first use.

    Keyed by the model and the settings that shape it (backend, length, device, data dir), so an
    app for other settings in the same process gets its own. Loading one model does not hold up
    another model's callers, nor callers of models already loaded.
    """

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, ...], Embedder] = {}
        self._loading: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, settings: Settings, model: str | None = None) -> Embedder:
        """The embedder for ``model`` (default: the configured one), loaded on first use.

        Pass the index's ``model_name`` when embedding a query: while a model switch is under way
        the index still serves the old model's vectors, and the query must be embedded with it.
        """
        name = model or settings.embedding_model
        registered = registered_embedder(name)
        if registered is not None:
            return registered
        key = (
            name,
            settings.embedding_backend,
            str(settings.embedding_max_length),
            settings.embedding_device,
            str(settings.data_dir.resolve()),
        )
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            if key not in self._loaded:
                embedder = _load(settings, name)
                with self._lock:
                    self._loaded[key] = embedder
            return self._loaded[key]


def load_embedder(settings: Settings, model: str | None = None) -> Embedder:
    """Load ``model`` (default: the configured one) now, without keeping it anywhere (benchmarks
    and one-off scripts; a server or job uses its runtime's :class:`Embedders`)."""
    return Embedders().get(settings, model)


def _load(settings: Settings, name: str) -> Embedder:
    path = resolve_model(name)
    device = _device(settings.embedding_device)
    backend = settings.embedding_backend
    if backend in ("auto", "onnx"):
        from dailypapers.embeddings.onnx_backend import OnnxExportError, load_onnx

        try:
            return load_onnx(name, path, settings, device)
        except OnnxExportError as exc:
            if backend == "onnx":
                raise EmbeddingModelError(
                    f"{SETTING}={name!r}: ONNX backend unusable: {exc}"
                ) from exc
            log.warning("ONNX backend unusable for %s (%s); using sentence-transformers", name, exc)
    from dailypapers.embeddings.torch_backend import load_torch

    return load_torch(name, path, settings.embedding_max_length, device)


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
