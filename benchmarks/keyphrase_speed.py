"""Key phrases and the extracted TL;DR for a day's 1,000 papers (target: < 60 s on 2 cores).

Reads 20,000 abstracts from ../shared/data/arxiv-listings-2025 (or the bundled sample) for the
corpus statistics, then times both extractors over 1,000 papers, in this one process:
    python benchmarks/keyphrase_speed.py [--papers 1000]

Measured 2 December 2026 on the shared 2-core machine (AMD EPYC, 2 vCPUs), load 7.2:
corpus statistics of 20,000 abstracts 2.31 s CPU; 1,000 papers 4.92 s wall, 1.39 s CPU
(203 papers/s).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from importlib import resources
from pathlib import Path

from _server import SHARED_DATA

from dailypapers.enrich.keyphrases import PhraseStats, key_phrases
from dailypapers.enrich.tldr import select_tldr


def papers() -> list[dict[str, str]]:
    folder = SHARED_DATA / "arxiv-listings-2025"
    files: list[Path] = sorted(folder.glob("*.jsonl.gz")) if folder.exists() else []
    if not files:
        files = sorted(
            Path(str(p))
            for p in (resources.files("dailypapers") / "sample").iterdir()
            if p.name.endswith(".jsonl.gz")
        )
    seen: dict[str, dict[str, str]] = {}
    for path in reversed(files):
        for line in gzip.open(path):
            row = json.loads(line)
            seen.setdefault(row["id"], row)
    return list(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--papers", type=int, default=1000)
    args = parser.parse_args()
    rows = papers()
    print(f"{len(rows):,} papers read; load {os.getloadavg()[0]:.2f}")
    start = time.process_time()
    stats = PhraseStats.from_texts(f"{r['title']} {r['summary']}" for r in rows[:20_000])
    print(
        f"corpus statistics of {stats.documents:,} abstracts: {time.process_time() - start:.2f} s CPU"
    )
    day = rows[: args.papers]
    start, cpu = time.monotonic(), time.process_time()
    for row in day:
        key_phrases(row["title"], row["summary"], stats)
        select_tldr(row["title"], row["summary"])
    print(
        f"{len(day):,} papers: {time.monotonic() - start:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU ({len(day) / (time.monotonic() - start):.0f} papers/s)"
    )


if __name__ == "__main__":
    main()
