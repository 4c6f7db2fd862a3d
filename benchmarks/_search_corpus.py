"""Shared by the search benchmarks: the 2025 listings as a database, and their cached embeddings.

The database (33,641 papers) is imported once into ``benchmarks/.cache/search-33k`` with
``dailypapers import listing``. Embeddings of all papers come from the cache the embedding benchmark
writes (``benchmarks/.cache/embeddings-<model>-<backend>.npy`` + ``.ids.json``, arXiv ids in row
order; see ``benchmarks/.cache/README``); without it, callers embed a subset themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _server import SHARED_DATA
from sqlalchemy import Engine, text

from dailypapers.embeddings import Embedder
from dailypapers.vectors import ExactIndex

CACHE = Path(__file__).parent / ".cache"
LISTINGS = SHARED_DATA / "arxiv-listings-2025"


def corpus_data_dir() -> Path:
    """A data dir holding all 2025 listings (imported on first use, ~30 s)."""
    data_dir = CACHE / "search-33k"
    done = data_dir / "imported"
    if done.exists():
        return data_dir
    if not LISTINGS.exists():
        sys.exit(f"needs the shared data set at {LISTINGS}")
    data_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p) for p in LISTINGS.glob("*.jsonl.gz"))
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "dailypapers",
            "import",
            "listing",
            *files,
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    done.write_text("ok\n")
    print(f"imported {len(files)} listing files in {time.monotonic() - start:.0f} s", flush=True)
    return data_dir


def papers(engine: Engine) -> dict[str, tuple[int, str, str]]:
    """arXiv id -> (paper id, title, abstract) of every live paper."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT arxiv_id, id, title, abstract FROM papers WHERE deleted_at IS NULL")
        ).all()
    return {r[0]: (int(r[1]), r[2], r[3]) for r in rows}


def model_slug(name: str) -> str:
    """The model's part of the cache file name (as benchmarks/embed_cache.py writes it)."""
    slug = "".join(c if c.isalnum() or c in "-." else "-" for c in name.strip("/").split("/")[-1])
    return slug.strip("-.").lower() or "model"


def cached_embeddings(
    model: str, backend: str, *, partial: bool = False
) -> tuple[list[str], np.ndarray] | None:
    """(arXiv ids, vectors) from the embedding cache (``partial``: the checkpoint of a run still
    going, a uniform random sample of the set), or None."""
    stem = f"embeddings-{model_slug(model)}-{backend}" + ("-partial" if partial else "")
    path, ids_path = CACHE / f"{stem}.npy", CACHE / f"{stem}.ids.json"
    if not path.exists() or not ids_path.exists():
        return None
    for _ in range(5):  # a checkpoint being rewritten: read it again
        try:
            ids = json.loads(ids_path.read_text())
            matrix = np.load(path)
            break
        except (ValueError, OSError, EOFError):
            time.sleep(2)
    else:
        return None
    rows = min(len(ids), len(matrix))
    print(f"embeddings: {path.name} ({rows:,} vectors)", flush=True)
    return ids[:rows], np.asarray(matrix[:rows], dtype=np.float32)


def embed_cached(embedder: Embedder, name: str, keys: list[str], texts: list[str]) -> np.ndarray:
    """``embedder.encode(texts)``, cached in ``.cache/<name>.npy`` for these keys."""
    path = CACHE / f"{name}.npy"
    keys_path = CACHE / f"{name}.keys.json"
    if path.exists() and keys_path.exists() and json.loads(keys_path.read_text()) == keys:
        return np.load(path)
    start = time.monotonic()
    vectors = embedder.encode(texts, batch_size=32)
    print(f"embedded {len(texts):,} texts in {time.monotonic() - start:.0f} s ({name})", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    keys_path.write_text(json.dumps(keys))
    return vectors


def exact_index(model: str, ids: list[int], vectors: np.ndarray) -> ExactIndex:
    index = ExactIndex(model, int(vectors.shape[1]), capacity=max(1024, len(ids)))
    index.add(ids, np.asarray(vectors, dtype=np.float32))
    return index
