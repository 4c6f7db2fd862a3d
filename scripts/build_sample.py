"""Rebuild the bundled demo sample from ../shared/data/arxiv-listings-2025 (run by hand).

Keeps two weeks of real announcements (2025-06-16 .. 2025-06-27) and, to keep the package small,
a stable ~55% of papers chosen by a hash of the arXiv id (so a paper that reappears on a later day
as a replacement or cross-list is kept or dropped on every day alike).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "arxiv-listings-2025"
TARGET = ROOT / "src" / "dailypapers" / "sample"
FIRST, LAST = date(2025, 6, 16), date(2025, 6, 27)
KEEP_PERCENT = 55


def keep(arxiv_id: str) -> bool:
    return int(hashlib.sha1(arxiv_id.encode()).hexdigest(), 16) % 100 < KEEP_PERCENT


def main() -> int:
    if not SOURCE.exists():
        print(f"no source data at {SOURCE}", file=sys.stderr)
        return 2
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.glob("*.jsonl.gz"):
        old.unlink()
    day, kept = FIRST, 0
    while day <= LAST:
        source = SOURCE / f"{day.isoformat()}.jsonl.gz"
        if source.exists():
            with gzip.open(source, "rt", encoding="utf-8") as handle:
                lines = [line for line in handle if keep(json.loads(line)["id"])]
            target = TARGET / source.name
            with gzip.GzipFile(target, "wb", compresslevel=9, mtime=0) as out:
                out.write("".join(lines).encode("utf-8"))
            kept += len(lines)
        day += timedelta(days=1)
    print(f"wrote {kept} lines to {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
