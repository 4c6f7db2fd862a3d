"""Memory of the web processes: RSS of each `dailypapers serve` process after warm-up and every
``--every`` seconds under a steady load of ``--clients`` clients sending distinct search queries.

Uses the databases ``search_latency.py`` builds (``benchmarks/.cache/latency-33k``,
``latency-1000k`` with its saved 1 M HNSW graph), copied once to ``/tmp/dailypapers-memory/SIZE``
(``serve`` upgrades a database to the newest schema, and writes its own files in the data
directory; the 1 M HNSW file is hard-linked, never written); ``--size 2500k`` serves
``full_arxiv.py``'s SQLite database (``benchmarks/.cache/full-arxiv-2500k-sqlite/sqlite``, ~21
GB with its graph) in place, as its own re-measurements do, instead of copying it. The server runs without jobs
(``DAILYPAPERS_JOBS_IN_WEB=false``). Each client draws its own
queries (real title words, abstract sentences and phrases from ``search_latency.copied_queries``
plus the hand-written ``_user_queries``, with the same filter and page mix), so no query embedding
is reused between clients and the load does not settle into a cache.

For each web process it prints RSS (what ``ps``/``top`` show), its anonymous part (this process's
own heap) and its file-backed part (pages of mapped files: a memory-mapped vector index is shared
by every process on the box that maps it, and the kernel may drop those pages under pressure),
and PSS (shared pages divided among the processes that map them: the sum over processes is what
the box pays).

    python benchmarks/memory.py --size 33k|1m|2500k [--workers 2] [--minutes 5] [--every 30]
        [--clients 8] [--arena-max N|unset] [--mmap on|off]

``--mmap off`` sets ``DAILYPAPERS_VECTOR_MMAP=false`` (each process loads its own copy, as before);
``--arena-max unset`` removes ``MALLOC_ARENA_MAX`` from the server's environment (``serve`` then
sets 2 itself), a number sets it. Figures: docs/PERFORMANCE.md "Memory".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from _search_corpus import CACHE
from _server import free_port, wait_until_up
from search_latency import copied_queries, user_requests, warm_up

MIB = 2**20
WORK = Path("/tmp/dailypapers-memory")
FULL = CACHE / "full-arxiv-2500k-sqlite"
# size -> (its data directory, the file that says it is complete)
SOURCES = {
    "33k": (CACHE / "latency-33k", CACHE / "latency-33k" / "built"),
    "1m": (CACHE / "latency-1000k", CACHE / "latency-1000k" / "built"),
    "2500k": (FULL / "sqlite", FULL / "sqlite.loaded"),
}
BUILDERS = {
    "33k": "benchmarks/search_latency.py --build-only",
    "1m": "benchmarks/search_latency.py --build-only --size 1m",
    "2500k": "benchmarks/full_arxiv.py --papers 2500000 --backend sqlite --cache " + str(FULL),
}


def memory_of(pid: int) -> dict[str, int]:
    """RSS, its anonymous and file parts, and PSS, in bytes (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {
        line.split(":")[0]: int(line.split()[1]) * 1024
        for line in status.splitlines()
        if line.startswith(("VmRSS", "RssAnon", "RssFile", "RssShmem"))
    }
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    pss = next(
        int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")
    )
    return {
        "rss": fields.get("VmRSS", 0),
        "anon": fields.get("RssAnon", 0),
        "file": fields.get("RssFile", 0) + fields.get("RssShmem", 0),
        "pss": pss,
    }


def web_processes(root: int) -> list[int]:
    """The processes answering requests: uvicorn's workers under ``--workers N`` (children of the
    first process, not its multiprocessing helpers), else the one process."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == root and "resource_tracker" not in cmdline:
            children.append(int(entry.name))
    return sorted(children) or [root]


def prepare(source: Path, target: Path) -> Path:
    """A working copy of a cached benchmark data directory (see the module docstring)."""
    if (target / "built").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    with (
        sqlite3.connect(f"file:{source / 'dailypapers.db'}?mode=ro", uri=True) as src,
        sqlite3.connect(target / "dailypapers.db") as dst,
    ):
        src.backup(dst)
    for header in source.glob("vectors/*/current.json"):
        folder = target / header.parent.relative_to(source)
        folder.mkdir(parents=True, exist_ok=True)
        name = json.loads(header.read_text())["file"]
        os.link(header.parent / name, folder / name)
        shutil.copy(header, folder / "current.json")
    for name in ("models", "secret_key"):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        elif (source / name).exists():
            shutil.copy(source / name, target / name)
    (target / "built").write_text(source.name)
    return target


def requests_for(
    data_dir: Path, small: Path, clients: int, seed: int
) -> list[list[tuple[str, dict[str, str]]]]:
    """``clients`` disjoint lists of distinct search requests."""
    copied = copied_queries(small, 1500, seed=seed)
    pool: list[dict[str, str]] = [
        {"q": q, "limit": "20"} for kind, values in copied.items() if kind != "id" for q in values
    ]
    pool += [params for _, params in user_requests(data_dir, 50, seed + 1, ids=copied["id"][:50])]
    random.Random(seed).shuffle(pool)
    return [[("search", p) for p in pool[i::clients]] for i in range(clients)]


def load(
    base: str, requests: list[tuple[str, dict[str, str]]], stop: threading.Event, counts: list[int]
) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        i = 0
        while not stop.is_set():
            _, params = requests[i % len(requests)]
            try:
                client.get("/api/papers/search", params=params)
                counts[0] += 1
            except httpx.HTTPError:
                counts[1] += 1
            i += 1


def line(label: str, pids: list[int], extra: str = "") -> str:
    cells = []
    for pid in pids:
        try:
            m = memory_of(pid)
        except OSError:
            cells.append(f"{pid}: gone")
            continue
        cells.append(
            f"{m['rss'] / MIB:6.0f} (anon {m['anon'] / MIB:5.0f}, file {m['file'] / MIB:5.0f}, "
            f"pss {m['pss'] / MIB:5.0f})"
        )
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{label:>10s}  " + "  |  ".join(cells) + f"  load {load_avg}{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", choices=sorted(SOURCES), default="33k")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--every", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--arena-max", default="unset")
    parser.add_argument("--mmap", choices=["on", "off"], default="on")
    args = parser.parse_args()
    source, built = SOURCES[args.size]
    if not built.exists():
        sys.exit(f"{source} is not built: run {BUILDERS[args.size]} first")
    small = prepare(CACHE / "latency-33k", WORK / "33k")
    if args.size == "33k":
        data_dir = small
    elif args.size == "1m":
        data_dir = prepare(source, WORK / "1m")
    else:  # ~21 GB: served where full_arxiv.py keeps it
        data_dir = source
    env = {
        **os.environ,
        "DAILYPAPERS_JOBS_IN_WEB": "false",
        "DAILYPAPERS_VECTOR_MMAP": "true" if args.mmap == "on" else "false",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("MALLOC_ARENA_MAX", None)
    if args.arena_max != "unset":
        env["MALLOC_ARENA_MAX"] = args.arena_max
    port = free_port()
    log_path = Path(f"/tmp/memory-bench-{os.getpid()}.log")
    command = [sys.executable, "-m", "dailypapers", "serve", "--data-dir", str(data_dir),
               "--port", str(port), "--workers", str(args.workers)]  # fmt: skip
    print(
        f"{data_dir.name}, serve --workers {args.workers}, mmap {args.mmap}, MALLOC_ARENA_MAX "
        f"{args.arena_max}, {args.clients} clients; MiB per web process: RSS (anon, file, pss)",
        flush=True,
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/healthz", process, timeout=900)
            with httpx.Client(base_url=base, timeout=900) as client:
                for _ in range(2 * args.workers):  # each worker loads its index on first use
                    warm_up(client, ["graph neural networks", "diffusion models for video"])
            time.sleep(2)
            pids = web_processes(process.pid)
            print(line("warm", pids), flush=True)
            stop, counts = threading.Event(), [0, 0]
            threads = [
                threading.Thread(target=load, args=(base, reqs, stop, counts), daemon=True)
                for reqs in requests_for(data_dir, small, args.clients, seed=21)
            ]
            for thread in threads:
                thread.start()
            start = time.monotonic()
            peak = 0
            while (elapsed := time.monotonic() - start) < args.minutes * 60:
                time.sleep(min(args.every, args.minutes * 60 - elapsed))
                secs = time.monotonic() - start
                print(line(f"{secs:.0f} s", pids, f"  {counts[0]} requests"), flush=True)
                peak = max(peak, *(memory_of(pid)["rss"] for pid in pids))
            stop.set()
            for thread in threads:
                thread.join(timeout=150)
            rate = counts[0] / (time.monotonic() - start)
            print(
                f"peak RSS {peak / MIB:.0f} MiB; {counts[0]} requests ({rate:.1f}/s), "
                f"{counts[1]} failed; {os.cpu_count()} cores",
                flush=True,
            )
        finally:
            process.terminate()
            process.wait(timeout=60)
    log_path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
