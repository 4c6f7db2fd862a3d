"""Threads or processes for ``dailypapers worker --concurrency N``: an embedding run (CPU-bound,
ONNX on every core) and a digest run (waits on the database and the SMTP server) at once.

Loads the bundled sample, keeps ``--papers`` of them (none embedded), adds ``--subscribers``
daily subscribers, and starts an aiosmtpd sink. Then, each in a fresh consumer process on an
SQLite queue, with the real default model (ONNX int8, exported once into the data dir):

- ``embed alone`` and ``digests alone`` (one worker thread),
- ``both, 2 threads`` (``--concurrency 2``: one process, one Runtime, one model),
- ``both, 2 processes`` (Huey's process workers: each loads its own model).

For each: the embedding rate (abstracts/s between the first and the last vector written, model
loading left out), the digest rate (mails/s), the wall time until both finished, and the peak
resident memory of the consumer with its children.

    python benchmarks/worker_concurrency.py [--papers 1500] [--subscribers 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import free_port
from digest_send import SERVER, add_subscribers
from sqlalchemy import delete, func, select, text

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.db.models import DigestDelivery, Paper, PaperEmbedding
from dailypapers.services.sample import load_sample

CACHED_MODELS = Path(__file__).resolve().parent / ".cache" / "data" / "models"

CONSUMER = r"""
import sys
from dailypapers.config import Settings
from dailypapers.jobs import JobConsumer, make_jobs
settings = Settings()
jobs = make_jobs(settings)
JobConsumer(jobs.huey, settings, workers=int(sys.argv[1]), worker_type=sys.argv[2]).run()
"""


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (Linux /proc)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            pages = int(Path(f"/proc/{one}/statm").read_text().split()[1])
        except (OSError, IndexError):
            continue
        total += pages * os.sysconf("SC_PAGE_SIZE")
    return total


def run(
    settings: Settings, engine, jobs: list[str], workers: int, kind: str, papers: int, subs: int
):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(delete(PaperEmbedding))
        conn.execute(delete(DigestDelivery))
    (settings.data_dir / "queue.db").unlink(missing_ok=True)
    env = {**os.environ, **settings.as_environment()}
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, str(workers), kind],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)  # the consumer is up
    from dailypapers.jobs import make_jobs

    queue = make_jobs(settings)
    start = time.perf_counter()
    if "embed" in jobs:
        queue.embed()
    if "digests" in jobs:
        queue.send_digests()
    first_vector = vectors_done = digests_done = None
    peak = 0
    while True:
        now = time.perf_counter() - start
        peak = max(peak, tree_rss(consumer.pid))
        with engine.connect() as conn:
            vectors = conn.scalar(select(func.count()).select_from(PaperEmbedding)) or 0
            sent = (
                conn.scalar(
                    select(func.count())
                    .select_from(DigestDelivery)
                    .where(DigestDelivery.status == "sent")
                )
                or 0
            )
        if vectors and first_vector is None:
            first_vector = (now, vectors)
        if vectors >= papers and vectors_done is None:
            vectors_done = now
        if sent >= subs * 0.99 and digests_done is None:
            digests_done = now
        if ("embed" not in jobs or vectors_done) and ("digests" not in jobs or digests_done):
            break
        if now > 900:
            raise RuntimeError("timed out")
        time.sleep(0.1)
    consumer.terminate()
    consumer.wait(timeout=30)
    embed_rate = (
        (papers - first_vector[1]) / (vectors_done - first_vector[0])
        if vectors_done and first_vector and vectors_done > first_vector[0]
        else None
    )
    mail_rate = sent / digests_done if digests_done else None
    return embed_rate, mail_rate, time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=1500)
    parser.add_argument("--subscribers", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="workers-bench-") as folder:
        data = Path(folder)
        if CACHED_MODELS.is_dir():
            shutil.copytree(CACHED_MODELS, data / "models")
        port = free_port()
        settings = Settings(data_dir=data, smtp_url=f"smtp://127.0.0.1:{port}", _env_file=None)  # type: ignore[call-arg]
        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        load_sample(engine)
        with engine.begin() as conn:
            keep = select(Paper.id).order_by(Paper.id.desc()).limit(args.papers).scalar_subquery()
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            conn.execute(delete(Paper).where(Paper.id.not_in(keep)))
        add_subscribers(engine, args.subscribers, settings.category_list)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        print(
            f"{args.papers:,} papers to embed, {args.subscribers:,} digests; {os.cpu_count()} CPUs"
        )
        # warm-up: export the model once if it is not cached yet
        subprocess.run(
            [sys.executable, "-m", "dailypapers", "embed", "--limit", "1"],
            env={**os.environ, **settings.as_environment()},
            check=True, capture_output=True,
        )  # fmt: skip
        scenarios = [
            ("embed alone", ["embed"], 1, "thread"),
            ("digests alone", ["digests"], 1, "thread"),
            ("both, 2 threads", ["embed", "digests"], 2, "thread"),
            ("both, 2 processes", ["embed", "digests"], 2, "process"),
        ]
        print(f"{'':20} {'abstracts/s':>12} {'mails/s':>8} {'wall s':>7} {'peak RSS MiB':>13}")
        for name, jobs, workers, kind in scenarios:
            embed_rate, mail_rate, wall, peak = run(
                settings, engine, jobs, workers, kind, args.papers, args.subscribers
            )
            print(
                f"{name:20} {embed_rate or 0:12.1f} {mail_rate or 0:8.1f} {wall:7.1f} "
                f"{peak / 2**20:13.0f}"
            )
        server.stdin.write("stop\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
