"""The listing and snapshot files in tests/data and builders of single lines, shared by the
parsing tests."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

DATA = Path(__file__).parent / "data"
LISTINGS = DATA / "listings"
SNAPSHOT = DATA / "snapshot" / "kaggle-head30.jsonl.gz"
BAD = DATA / "bad"
DAY = date(2025, 3, 18)


def listing_line(**fields: object) -> bytes:
    base: dict[str, object] = {
        "id": "2503.11731",
        "pdf": "https://arxiv.org/pdf/2503.11731",
        "abs": "https://arxiv.org/abs/2503.11731",
        "authors": ["Ada Lovelace", "Alan  Turing"],
        "title": "A   title\n  on two lines",
        "categories": ["cs.CV", "cs.RO"],
        "comment": None,
        "summary": "First line\nsecond line.",
    }
    base.update(fields)
    return json.dumps(base).encode()


def snapshot_line(**fields: object) -> bytes:
    data = json.loads(gzip.decompress(SNAPSHOT.read_bytes()).splitlines()[0])
    data.update(fields)
    return json.dumps(data).encode()
