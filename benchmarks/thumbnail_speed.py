"""Thumbnail rendering speed: page 1 of generated PDFs to WebP, pages per second (target: >= 5 on
2 cores). The PDFs are made on the spot with fpdf2 (a title, authors, a figure box and a page and
a half of text per page; 10 pages each; with --figures a 900x500 raster image on every page),
so nothing is downloaded:
    python benchmarks/thumbnail_speed.py [--pdfs 60] [--processes 1 2]

Renders run in N worker processes (PDFium renders one page at a time per process).

Measured 2 December 2026 on the shared 2-core machine (AMD EPYC, 2 vCPUs):
    plain (9 KB PDFs), load 4.0:        1 process 34.7 pages/s (29 ms a page), 2: 25.8 pages/s
    --figures (1.3 MB PDFs), load 6.6:  1 process 13.6 pages/s (74 ms a page), 2: 14.5 pages/s
WebP 10-11 KB. Two processes gain nothing while others keep both cores busy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.pdfs

from dailypapers.enrich.thumbnail import render_first_page  # noqa: E402
from tests.pdfs import paper_pdf  # noqa: E402


def render(data: bytes) -> int:
    return len(render_first_page(data)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pdfs", type=int, default=60)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--figures", action="store_true", help="a raster figure on every page")
    args = parser.parse_args()
    pdfs = [
        paper_pdf(f"Paper number {n} on counting", pages=10, figure=args.figures)
        for n in range(args.pdfs)
    ]
    size = sum(map(len, pdfs)) / len(pdfs)
    print(f"{len(pdfs)} PDFs of 10 pages, {size / 1024:.0f} KB each; load {os.getloadavg()[0]:.2f}")
    render(pdfs[0])  # warm up
    for processes in args.processes:
        start = time.monotonic()
        if processes == 1:
            sizes = [render(p) for p in pdfs]
        else:
            with ProcessPoolExecutor(processes) as pool:
                sizes = list(pool.map(render, pdfs, chunksize=4))
        seconds = time.monotonic() - start
        print(
            f"{processes} process(es): {len(pdfs) / seconds:.1f} pages/s "
            f"({seconds / len(pdfs) * 1000:.0f} ms a page, WebP {sum(sizes) / len(sizes) / 1024:.1f} KB)"
        )


if __name__ == "__main__":
    main()
