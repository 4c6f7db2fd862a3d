"""Embed every paper of the 2025 listings once and cache the vectors for the search benchmarks.

    nice python benchmarks/embed_cache.py                  # ONNX int8 (the default backend)
    nice python benchmarks/embed_cache.py --backend torch  # plain sentence-transformers
    nice python benchmarks/embed_cache.py --field title    # another field (search_quality --fields)

Reads ../shared/data/arxiv-listings-2025 (33,641 unique papers; the last listing of a paper wins),
embeds ``paper_text(title, abstract)`` with the configured model (DAILYPAPERS_EMBEDDING_MODEL) and
writes ``benchmarks/.cache/embeddings-<model-slug>-<backend>.npy`` (float32, one unit row per paper)
with ``.ids.json`` (the arXiv ids, row order). Papers are embedded in a fixed random order and a
checkpoint (``...-partial.npy`` / ``.ids.json``) is saved every ``--checkpoint`` papers, so an
interrupted run resumes, and any prefix is a uniform sample usable meanwhile. About 45 minutes at
~12 abstracts/s (2 busy cores); minutes on a GPU. ``--field`` embeds another text per paper into
``...-<field>.npy``: ``title`` (~430 titles/s, 80 s at load ~4), ``lead`` (title + the
abstract's first two sentences, median 78 word pieces; ~21/s at load 9), ``tail`` (title + what
truncation at the embedding length cuts off, from 32 word pieces before the cut; a zero row for
the ~24% of papers whose text fits).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dailypapers.config import Settings  # noqa: E402
from dailypapers.embeddings import load_embedder, paper_text  # noqa: E402
from dailypapers.embeddings.model_files import model_slug  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-listings-2025"
CACHE = Path(__file__).resolve().parent / ".cache"
FIELDS = ("paper", "title", "lead", "tail")
TAIL_OVERLAP = 32  # word pieces the tail repeats from the end of the embedded text
LEAD_SENTENCES = 2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")  # as search_quality.py splits sentences


def listing_papers(folder: Path = SHARED) -> dict[str, tuple[str, str]]:
    """arXiv id → (title, abstract) of every paper in the listings (the latest listing wins)."""
    papers: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                papers[record["id"]] = (record["title"], record.get("summary") or "")
    return papers


def field_text(field: str, title: str, abstract: str) -> str:
    """The text embedded for one field of a paper (``--field``)."""
    if field == "title":
        return " ".join(title.split())
    if field == "lead":
        return paper_text(title, " ".join(lead_sentences(abstract, LEAD_SENTENCES)))
    return paper_text(title, abstract)


class Tails:
    """The ``tail`` field: title + what the model's truncation cuts off a paper's text (starting
    ``TAIL_OVERLAP`` word pieces before the cut, at a word), or "" when it all fits."""

    def __init__(self, model: str, max_length: int) -> None:
        from tokenizers import Tokenizer

        from dailypapers.embeddings.model_files import resolve_model

        self._tokenizer = Tokenizer.from_file(str(resolve_model(model) / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._fits = max_length - 2  # [CLS] and [SEP]

    def __call__(self, title: str, abstract: str) -> str:
        text = paper_text(title, abstract)
        offsets = self._tokenizer.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= self._fits:
            return ""
        cut = offsets[self._fits - TAIL_OVERLAP][0]
        start = len(text) - len(text[cut:].lstrip())
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        return paper_text(title, text[start:])


def embed_nonempty(embedder: Any, texts: list[str], batch_size: int) -> np.ndarray:
    """Vectors of ``texts``; an empty text gets a zero row (cosine 0 with every query)."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    rows = [i for i, text in enumerate(texts) if text]
    if rows:
        out[rows] = embedder.encode([texts[i] for i in rows], batch_size=batch_size)
    return out


def lead_sentences(abstract: str, count: int) -> list[str]:
    """The abstract's first ``count`` sentences."""
    return [s for s in _SENTENCE_END.split(" ".join(abstract.split())) if s][:count]


def cache_paths(
    model: str, backend: str, *, partial: bool = False, field: str = "paper"
) -> tuple[Path, Path]:
    stem = f"embeddings-{model_slug(model)}-{backend}"
    stem += ("" if field == "paper" else f"-{field}") + ("-partial" if partial else "")
    return CACHE / f"{stem}.npy", CACHE / f"{stem}.ids.json"


def load_cache(model: str, backend: str) -> tuple[list[str], np.ndarray] | None:
    """(arXiv ids, vectors) from the finished cache, or None when it is not there."""
    vectors, ids = cache_paths(model, backend)
    if not vectors.is_file() or not ids.is_file():
        return None
    return json.loads(ids.read_text()), np.load(vectors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--checkpoint", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None, help="embed only this many papers")
    parser.add_argument(
        "--field",
        choices=FIELDS,
        default="paper",
        help="paper: title + abstract (searched today); title: the title alone; lead: title + "
        f"the abstract's first {LEAD_SENTENCES} sentences; tail: title + what truncation at "
        "the embedding length cuts off (a zero row when nothing is); other cache files",
    )
    args = parser.parse_args()

    os.environ["DAILYPAPERS_EMBEDDING_BACKEND"] = args.backend
    settings = Settings(data_dir=CACHE / "data")
    papers = listing_papers()
    order = sorted(papers)
    np.random.default_rng(0).shuffle(order)  # type: ignore[arg-type]
    order = order[: args.limit] if args.limit else order
    partial_vectors, partial_ids = cache_paths(
        settings.embedding_model, args.backend, partial=True, field=args.field
    )
    done_ids: list[str] = []
    done: list[np.ndarray] = []
    if partial_vectors.is_file() and partial_ids.is_file():
        done_ids = json.loads(partial_ids.read_text())
        done = [np.load(partial_vectors)]
        print(f"resuming after {len(done_ids)} papers")
    embedder = load_embedder(settings)
    tails = Tails(settings.embedding_model, settings.embedding_max_length)
    start, count = time.monotonic(), 0
    for offset in range(len(done_ids), len(order), args.checkpoint):
        ids = order[offset : offset + args.checkpoint]
        if args.field == "tail":
            texts = [tails(*papers[i]) for i in ids]
        else:
            texts = [field_text(args.field, *papers[i]) for i in ids]
        done.append(embed_nonempty(embedder, texts, args.batch_size))
        done_ids += ids
        count += len(ids)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(partial_vectors, np.concatenate(done))
        partial_ids.write_text(json.dumps(done_ids))
        rate = count / (time.monotonic() - start)
        print(f"{len(done_ids)}/{len(order)} papers, {rate:.1f}/s", flush=True)
    by_id = dict(zip(done_ids, np.concatenate(done), strict=True))
    final_ids = sorted(by_id)
    vectors_path, ids_path = cache_paths(settings.embedding_model, args.backend, field=args.field)
    np.save(vectors_path, np.stack([by_id[i] for i in final_ids]).astype(np.float32))
    ids_path.write_text(json.dumps(final_ids))
    partial_vectors.unlink()
    partial_ids.unlink()
    print(f"wrote {vectors_path} ({len(final_ids)} papers)")


if __name__ == "__main__":
    main()
