"""Abstracts embedded per second, per backend, and what the speed-ups cost in agreement.

    python benchmarks/embed_speed.py            # 500 real abstracts: onnx (int8) and torch
    python benchmarks/embed_speed.py --quick    # 100 abstracts
    python benchmarks/embed_speed.py --backends onnx --max-length 224   # one backend, one length
    python benchmarks/embed_speed.py --count 20000 --batch-size 256   # on a GPU (fp16, CUDA)

Texts are ``paper_text(title, abstract)`` of the 2025 listings in ../shared/data (the bundled sample
when that is absent), embedded with DAILYPAPERS_EMBEDDING_MODEL (default all-MiniLM-L6-v2) at
DAILYPAPERS_EMBEDDING_MAX_LENGTH tokens. The ONNX export is done once, before timing, and cached in
benchmarks/.cache/data/models. Prints wall-clock abstracts/s and CPU seconds per abstract (the
second is steadier on a shared machine), then the mean / minimum cosine between the ONNX and the
torch vector of each text: the relevance cost of int8 (search_quality.py --backend shows it in
hit@k). Target on 2 cores: >= 60 abstracts/s (issue 4).

The ONNX export (onnx_backend.py, EXPORT_VERSION 2): attention and embeddings fused by ONNX
Runtime's transformer optimiser, then int8 per channel; CPU sessions single-threaded, slices of 4
rows, one slice per core. Old = EXPORT_VERSION 1 (unfused int8 graph, one run per batch of 32 on 2
intra-op threads), run in the same process, alternating, 200 abstracts, 2 cores shared with other
helpers (load average ~2, where the old export gave the 23.8/s it gave on the quiet machine):

    tokens   old: abstracts/s  ms CPU    new: abstracts/s  ms CPU    cosine new vs torch (mean, min)
    256             23.6       67.7             52.1       37.1      0.9947  0.9885
    224             29.3       55.0             64.5       29.2      0.9947  0.9885
    192             34.8       46.7             74.5       25.8      0.9948  0.9894
    160             36.8       44.7             68.8       27.2      0.9946  0.9892
    128             64.4       26.8            118.7       16.5      0.9946  0.9897

(160 is no faster than 192 in that run: the other helpers' load varied; a lone run of this script
gave 98/s at 160 and 72/s at 192.) What each step gave, single-threaded, ms CPU per abstract at 256
tokens (minimum of repeated runs of 4-8 abstracts, loaded machine): unfused int8 55-60; fused
(Attention, EmbedLayerNormalization, SkipLayerNormalization, BiasGelu) int8 41-46; without the
SkipLayerNormalization fusion (its CPU kernel took 3x an Add + LayerNormalization) ~30-35; without
BiasGelu (2x a Gelu after a MatMul that adds the bias) 23-29. No gain: FastGelu (tanh
approximation), QUInt8 weights (2x slower), reduce_range, MultiHeadAttention or unfused attention
instead of Attention (+10-15%); per-tensor weights cost agreement (mean cosine 0.93). One
single-threaded session per core beats one session on 2 intra-op threads for bulk work; the slice
size (2/4/8/16 rows: 28.7/27.2/29.3/32.4 ms) matters less.

Relevance of each length: search_quality.py's docstring (224 tokens costs 0.002 hybrid MRR, within
its noise; 128 costs 0.003 hybrid and 0.023 dense MRR), so 224 is the default since 2026-11-28.
The torch rate here was 12-21/s (80-106 ms CPU per abstract) at 256 tokens. The GPU path (fp16,
tokenising ahead on threads, ``embeddings/torch_backend.py``) is unmeasured: no GPU was lent to
these sessions. With ``--device auto`` (the default) torch takes CUDA when it sees one, so the same
command reports the GPU's rate there; ``--total`` turns every rate into hours for all of arXiv.

All of arXiv (2.5 M papers) on 2 CPU cores at the default settings (ONNX int8, 224 tokens): at the
quiet machine's 62.8 abstracts/s, **11.1 hours** (12.6 h at 256 tokens, 55.3/s); at the ~30/s a
machine shared with other work gives, about a day.

Quiet machine after the merge (2026-11-28, load ~2.5-3, 500 abstracts, onnx only):
256 tokens 55.3/s (34.2 ms CPU per abstract), 224 tokens 62.8/s (30.0 ms).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dailypapers.config import Settings  # noqa: E402
from dailypapers.embeddings import Embedder, load_embedder, paper_text  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-listings-2025"
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "dailypapers" / "sample"
CACHE = Path(__file__).resolve().parent / ".cache"


def abstracts(count: int) -> list[str]:
    """``count`` distinct real papers as embedded text, spread over the listing days."""
    folder = SHARED if SHARED.is_dir() else SAMPLE
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                texts[record["id"]] = paper_text(record["title"], record.get("summary") or "")
    ordered = [texts[key] for key in sorted(texts)]
    step = max(1, len(ordered) // count)
    return ordered[::step][:count]


def embedder_for(backend: str, device: str = "auto", max_length: int | None = None) -> Embedder:
    """The embedder of one backend (``onnx`` or ``torch``), exports cached in benchmarks/.cache.

    Reusable by other benchmarks (search_quality.py ``--backend``) to compare backends."""
    settings = Settings(data_dir=CACHE / "data", embedding_backend=backend, embedding_device=device)
    if max_length is not None:
        settings.embedding_max_length = max_length
    return load_embedder(settings)


def measure(
    embedder: Embedder, texts: list[str], batch_size: int
) -> tuple[np.ndarray, float, float]:
    """(vectors, abstracts per second, CPU seconds per abstract) after a warm-up batch."""
    embedder.encode(texts[:batch_size], batch_size=batch_size)
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.encode(texts, batch_size=batch_size)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return vectors, len(texts) / wall, cpu / len(texts)


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and minimum cosine between the two embeddings of each text (rows are unit vectors)."""
    cosines = np.sum(a * b, axis=1)
    return float(cosines.mean()), float(cosines.min())


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="100 abstracts")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backends", default="onnx,torch")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--max-length", type=int, default=None, help="tokens embedded (default 224)"
    )
    parser.add_argument(
        "--total", type=int, default=2_500_000, help="papers to report hours for (all of arXiv)"
    )
    args = parser.parse_args()
    texts = abstracts(100 if args.quick else args.count)
    print(f"{len(texts)} abstracts, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    results: dict[str, np.ndarray] = {}
    for backend in args.backends.split(","):
        start = time.perf_counter()
        embedder = embedder_for(backend, args.device, args.max_length)
        kind = type(embedder.backend).__name__
        print(f"{backend:6} ({kind}) loaded in {time.perf_counter() - start:.1f} s", flush=True)
        vectors, rate, cpu = measure(embedder, texts, args.batch_size)
        results[backend] = vectors
        device = getattr(embedder.backend, "device", "cpu")
        print(
            f"{backend:6} {rate:8.1f} abstracts/s   {cpu * 1000:7.1f} ms CPU per abstract   "
            f"{args.total:,} papers in {args.total / rate / 3600:.1f} h (on {device})",
            flush=True,
        )
    if {"onnx", "torch"} <= results.keys():
        mean, low = agreement(results["onnx"], results["torch"])
        print(f"cosine onnx vs torch, same text: mean {mean:.4f}, min {low:.4f}")
    if not _cuda():
        print(
            "(no CUDA device here: on a GPU machine `--backends torch --count 20000 "
            "--batch-size 256` reports the GPU's rate, fp16 with tokenising overlapped)"
        )


if __name__ == "__main__":
    main()
