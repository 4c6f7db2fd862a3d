"""Seconds from `dailypapers demo` on a fresh data directory to a served page (target < 15 s).

Also times a second start on the same directory (the database is reused). Run by hand:
    python benchmarks/demo_startup.py
"""

from __future__ import annotations

import platform
import tempfile
import time

import httpx
from _server import running


def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        for label in ("fresh data dir", "second run (reuse)"):
            start = time.monotonic()
            with running("demo", "--data-dir", data_dir) as (base, _):
                elapsed = time.monotonic() - start
                home = httpx.get(base + "/")
                assert home.status_code == 200, home.status_code
                print(f"demo, {label}: serving after {elapsed:.2f} s")
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}")


if __name__ == "__main__":
    main()
