"""The map at 50,000 points: layout time, data sent, first paint in Chromium on loopback
(targets: data <= 2 MB compressed, first paint < 1.5 s).

Builds a temporary database of 50,000 papers announced in June 2025: the 33,641 papers of
../shared/data/arxiv-listings-2025 with their cached MiniLM vectors (benchmarks/.cache, made by
embed_cache.py), and 16,359 more that copy a random paper's title and vector plus noise. Then it
times key phrases (for the cluster labels) and the layout job, starts `dailypapers serve`, measures
the map's JSON with brotli, and opens /map in headless Chromium three times, reading the
page's own first-paint time (``window.dailypapersMap.firstPaint``, ms since navigation start):
    python benchmarks/map_speed.py [--points 50000] [--data-dir DIR]

Measured 2 December 2026 on the shared 2-core machine (AMD EPYC, 2 vCPUs), load 8 rising to 14:
50,000 papers and vectors stored in 36 s; key phrases 301 s (166/s); layout 210 s wall, 63 s
CPU; first build of the month's data 10.4 s; data 0.24 MB (points) + 1.14 MB (titles) = 1.38 MB
with brotli; first paint 1781, 1708, 902 ms (load 12-14). Again with --data-dir at load 13:
data built in 13.0 s, first paint 1544, 1531, 1512 ms. An earlier run at load 6-8: 0.75-1.06 s.

Each run also prints what the first paint waited for (ms since navigation start). Before the
points were preloaded and packed once (same database, back to back, load 14-17): the points were
asked for only at DOMContentLoaded (230-725 ms) and their first byte came 200-290 ms later (the
0.6 MB gzipped again on every answer); first paint 1490, 593, 1039 ms (915, 1638, 966 ms at load
22-25). After (the page's <link rel=preload>; points and titles compressed once per encoding and
kept with the cached map): asked at 85-181 ms, before map.js had loaded, first byte 26-93 ms
later; first paint 580, 402, 338 ms at load 14-17 and 556, 252, 772 ms at load 20. What is left
is mostly waiting for the script and the CPU: drawing 50,000 points takes 10-30 ms of JavaScript
once warm (timed over repeated redraws), the rest of "parsed -> drawn" is the first layout.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import numpy as np
from _server import SHARED_DATA, running

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.embeddings.store import save_vectors
from dailypapers.services.paper_map import update_map
from dailypapers.services.summaries import summarize_pending
from dailypapers.sources.arxiv.records import PaperRecord
from dailypapers.upsert import upsert_records

CACHE = Path(__file__).parent / ".cache"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def build(data_dir: Path, points: int) -> None:
    vectors = np.load(CACHE / "embeddings-all-minilm-l6-v2-onnx.npy")
    ids = json.loads((CACHE / "embeddings-all-minilm-l6-v2-onnx.ids.json").read_text())
    rows: dict[str, dict[str, object]] = {}
    for path in sorted((SHARED_DATA / "arxiv-listings-2025").glob("*.jsonl.gz")):
        for line in gzip.open(path):
            row = json.loads(line)
            rows.setdefault(row["id"], row)
    rng = np.random.default_rng(0)
    records, matrix = [], []
    for n in range(points):
        source = ids[n] if n < len(ids) else ids[int(rng.integers(len(ids)))]
        row = rows[source]
        arxiv_id = source if n < len(ids) else f"2599.{n:05d}"
        records.append(
            PaperRecord(
                arxiv_id=arxiv_id,
                title=str(row["title"]),
                abstract=str(row["summary"]),
                authors=list(row["authors"]),  # type: ignore[call-overload]
                categories=list(row["categories"]),  # type: ignore[call-overload]
                announced_on=date(2025, 6, 1) + timedelta(days=n % 30),
            )
        )
        vector = vectors[ids.index(source)] if n >= len(ids) else vectors[n]
        if n >= len(ids):
            vector = vector + rng.normal(0, 0.02, vector.shape).astype(np.float32)
        matrix.append(vector / np.linalg.norm(vector))
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    start = time.monotonic()
    upsert_records(engine, records)
    with engine.connect() as conn:
        by_arxiv = dict(conn.exec_driver_sql("SELECT arxiv_id, id FROM papers").all())
        save_vectors(
            conn,
            MODEL,
            [by_arxiv[r.arxiv_id] for r in records],
            np.stack(matrix),
            [b"\0" * 8] * len(records),
        )
        conn.commit()
    print(f"{points:,} papers and vectors stored in {time.monotonic() - start:.0f} s")
    run = summarize_pending(engine)
    print(f"key phrases: {run.line()}")
    cpu, start = time.process_time(), time.monotonic()
    layout = update_map(engine, settings)
    print(
        f"layout: {layout.line()} ({time.monotonic() - start:.0f} s wall, "
        f"{time.process_time() - cpu:.0f} s CPU of this process)"
    )
    engine.dispose()


# What the first paint waited for, in ms since navigation start: the page's HTML, the script
# (deferred: it runs after the HTML is parsed), the points' request and answer, parsing, drawing.
STEPS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const find = (part) => res.find((e) => e.name.includes(part)) || {};
  const js = find("/static/map.js"), pts = find("/map/points.json");
  return {"html": nav.responseEnd, "map.js": js.responseEnd, "DOMContentLoaded":
    nav.domContentLoadedEventStart, "points asked": pts.startTime, "points first byte":
    pts.responseStart, "points received": pts.responseEnd,
    "points parsed": window.dailypapersMap.pointsParsed,
    "drawn": window.dailypapersMap.firstPaint};
}"""


def measure(base: str) -> None:
    query = "?month=2025-06"
    with httpx.Client(headers={"Accept-Encoding": "br"}, timeout=120) as client:
        start = time.monotonic()
        client.get(f"{base}/map/points.json{query}")
        print(f"first build of the period's data: {time.monotonic() - start:.2f} s")
        total = 0
        for path in ("/map/points.json", "/map/titles.json"):
            with client.stream("GET", f"{base}{path}{query}") as answer:
                raw = b"".join(answer.iter_raw())
                total += len(raw)
                print(
                    f"{path}: {len(raw) / 1e6:.2f} MB sent ({answer.headers.get('content-encoding')})"
                )
        print(f"map data in all: {total / 1e6:.2f} MB compressed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for run in range(3):
            page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
            page.goto(f"{base}/map{query}")
            page.wait_for_function(
                "() => window.dailypapersMap && window.dailypapersMap.firstPaint"
            )
            painted = page.evaluate("() => window.dailypapersMap.firstPaint")
            count = page.get_attribute("#map-canvas", "data-painted")
            print(f"run {run + 1}: first paint of {count} points at {painted:.0f} ms")
            print("  " + ", ".join(f"{k} {v:.0f}" for k, v in page.evaluate(STEPS).items()))
            page.context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=50_000)
    parser.add_argument("--data-dir", help="reuse (or keep) the database here")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}")
    if args.data_dir:
        run(Path(args.data_dir), args.points)
    else:  # ~300 MB: not left behind
        with tempfile.TemporaryDirectory(prefix="map-speed-") as folder:
            run(Path(folder), args.points)


def run(folder: Path, points: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "dailypapers.db").exists():
        build(folder, points)
    with running("serve", "--data-dir", str(folder)) as (base, _up):
        measure(base)


if __name__ == "__main__":
    main()
