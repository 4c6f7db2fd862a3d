"""The bundled sample: real arXiv listings (one gzip file per announce day) the demo loads once.

Loading is an import of each file, so it is idempotent: a second load finds every paper unchanged.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, func, select

from dailypapers.db.models import Paper
from dailypapers.services.imports import OnProgress, import_listing
from dailypapers.upsert import ImportCounts


def sample_files() -> list[Path]:
    """The sample's listing files, oldest day first."""
    folder = resources.files("dailypapers") / "sample"
    return sorted(
        Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".jsonl.gz")
    )


def sample_ids() -> set[str]:
    """The arXiv ids of every paper in the sample."""
    ids: set[str] = set()
    for path in sample_files():
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            ids.update(json.loads(line)["id"] for line in handle if line.strip())
    return ids


def load_sample(engine: Engine, on_progress: OnProgress | None = None) -> ImportCounts:
    """Import every sample file (what is already there stays unchanged)."""
    total = ImportCounts()
    for path in sample_files():
        if on_progress is None:
            total.add(import_listing(engine, path))
        else:
            total.add(import_listing(engine, path, on_progress=on_progress))
    return total


def count_papers(engine: Engine) -> int:
    """Papers in the database (deleted ones included: they are rows a re-import finds)."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(Paper.id))) or 0)
