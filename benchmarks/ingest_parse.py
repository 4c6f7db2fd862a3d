"""OAI-PMH records parsed and upserted per second (target ≥ 5,000/s on 2 cores), so arXiv's
3-second rule (one 1,000-record page every 3 s: 333 records/s), not our code, bounds a harvest.

Builds realistic ListRecords pages (metadataPrefix=arXiv, 1,000 records each, arXiv's real page size)
from the real 2025 listings in ../shared/data (or, without it, from the hand-written page in
tests/data), then times parsing alone and parsing + upserting into a fresh SQLite database:
    python benchmarks/ingest_parse.py [--pages 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from dailypapers.db import keyword_index
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.sources.arxiv.oai import parse_list_records
from dailypapers.upsert import upsert_batch

ROOT = Path(__file__).resolve().parents[1]
LISTINGS = ROOT.parent / "shared" / "data" / "arxiv-listings-2025"
PAGE_SIZE = 1000


def _source_lines() -> list[dict[str, object]]:
    if LISTINGS.exists():
        lines = []
        for path in sorted(LISTINGS.glob("*.jsonl.gz"))[:20]:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                lines += [json.loads(line) for line in handle]
        return lines
    sample = ROOT / "src" / "dailypapers" / "sample"
    lines = []
    for path in sorted(sample.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines += [json.loads(line) for line in handle]
    return lines


def _record(n: int, line: dict[str, object], created: date) -> str:
    authors = "".join(
        f"<author><keyname>{escape(str(a).split()[-1])}</keyname>"
        f"<forenames>{escape(' '.join(str(a).split()[:-1]))}</forenames></author>"
        for a in line["authors"]  # type: ignore[attr-defined]
    )
    comment = f"<comments>{escape(str(line['comment']))}</comments>" if line.get("comment") else ""
    arxiv_id = f"{2500 + n // 90000:04d}.{n % 90000 + 10000:05d}"
    return (
        f"<record><header><identifier>oai:arXiv.org:{arxiv_id}</identifier>"
        f"<datestamp>{created + timedelta(days=1)}</datestamp><setSpec>cs</setSpec></header>"
        f'<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>{arxiv_id}</id>'
        f"<created>{created}</created><authors>{authors}</authors>"
        f"<title>{escape(str(line['title']))}</title>"
        f"<categories>{' '.join(line['categories'])}</categories>{comment}"  # type: ignore[arg-type]
        f"<license>http://creativecommons.org/licenses/by/4.0/</license>"
        f"<abstract>{escape(str(line['summary']))}</abstract></arXiv></metadata></record>"
    )


def build_pages(count: int) -> list[bytes]:
    lines = _source_lines()
    pages = []
    for page in range(count):
        records = "".join(
            _record(
                page * PAGE_SIZE + i,
                lines[(page * PAGE_SIZE + i) % len(lines)],
                date(2025, 6, 2 + i % 20),
            )
            for i in range(PAGE_SIZE)
        )
        token = f"<resumptionToken cursor='{page * PAGE_SIZE}'>t|{page + 1}</resumptionToken>"
        pages.append(
            (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                "<responseDate>2025-06-20T00:00:00Z</responseDate>"
                '<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>'
                f"<ListRecords>{records}{token}</ListRecords></OAI-PMH>"
            ).encode()
        )
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    pages = build_pages(args.pages)
    total = args.pages * PAGE_SIZE
    print(f"{args.pages} pages x {PAGE_SIZE} records, {sum(map(len, pages)) / 1e6:.1f} MB of XML")

    start = time.perf_counter()
    parsed = [parse_list_records(page) for page in pages]
    parse_s = time.perf_counter() - start
    assert sum(len(p.records) for p in parsed) == total

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/bench.db")
        upgrade(engine)
        # What the harvester does: each page parsed and committed (papers + checkpoint), then
        # the new papers added to the keyword index once after the pages.
        start = time.perf_counter()
        for page in pages:
            records = parse_list_records(page).records
            with engine.begin() as conn:
                upsert_batch(conn, records, index_new=False)
        pages_s = time.perf_counter() - start
        keyword_index.catch_up(engine)
        both_s = time.perf_counter() - start
        engine.dispose()
    print(f"parse only:                 {total / parse_s:8,.0f} records/s")
    print(f"parse + upsert (committed): {total / pages_s:8,.0f} records/s")
    print(f"  + keyword index after:    {total / both_s:8,.0f} records/s end to end")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
