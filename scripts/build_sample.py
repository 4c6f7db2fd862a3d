"""Rebuild the bundled demo sample from ../shared/data/arxiv-listings-2025 (run by hand).

Keeps two whole weeks of real announcements, Monday 2025-06-23 to Friday 2025-07-04 (ten
announcement days), and, to keep the package small, a stable ~55% of papers chosen by a hash of
the arXiv id (so a paper that reappears on a later day as a replacement or cross-list is kept or
dropped on every day alike).

The recorded listings have copies: some days repeat an earlier day's file (2025-06-20 is
2025-06-19 again, and weekends repeat Fridays), which would leave that day without papers of its
own. The builder refuses such a window: every weekday must have a file, and no file may share
more than half of its papers with an earlier one. It prints the number of papers the demo loads;
README.md states it, and tests/test_sample.py checks that the two agree.
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
FIRST, LAST = date(2025, 6, 23), date(2025, 7, 4)
KEEP_PERCENT = 55
MAX_SHARED = 0.5  # a file sharing more of its papers with an earlier day's is a copy


def keep(arxiv_id: str) -> bool:
    return int(hashlib.sha1(arxiv_id.encode()).hexdigest(), 16) % 100 < KEEP_PERCENT


def weekdays(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day.weekday() < 5]


def read_ids(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["id"] for line in handle if line.strip()]


def check_days(source: Path, days: list[date]) -> list[str]:
    """What is wrong with the window: missing days, days that copy an earlier one."""
    problems: list[str] = []
    seen: dict[date, set[str]] = {}
    for day in days:
        path = source / f"{day.isoformat()}.jsonl.gz"
        if not path.exists():
            problems.append(f"{day}: no listing file")
            continue
        ids = set(read_ids(path))
        for earlier, earlier_ids in seen.items():
            shared = len(ids & earlier_ids) / max(len(ids), 1)
            if shared > MAX_SHARED:
                problems.append(f"{day}: {shared:.0%} of its papers repeat {earlier}'s")
        seen[day] = ids
    return problems


def main() -> int:
    if not SOURCE.exists():
        print(f"no source data at {SOURCE}", file=sys.stderr)
        return 2
    days = weekdays(FIRST, LAST)
    problems = check_days(SOURCE, days)
    if problems:
        print("the window is not whole:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.glob("*.jsonl.gz"):
        old.unlink()
    lines_kept, papers = 0, set()
    for day in days:
        source = SOURCE / f"{day.isoformat()}.jsonl.gz"
        with gzip.open(source, "rt", encoding="utf-8") as handle:
            lines = [line for line in handle if line.strip() and keep(json.loads(line)["id"])]
        with gzip.GzipFile(TARGET / source.name, "wb", compresslevel=9, mtime=0) as out:
            out.write("".join(lines).encode("utf-8"))
        lines_kept += len(lines)
        papers.update(json.loads(line)["id"] for line in lines)
    print(f"wrote {lines_kept:,} lines, {len(papers):,} papers, {len(days)} days to {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
