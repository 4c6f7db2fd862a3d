"""Calibrate the dense relevance floor (``search/hybrid.py:DENSE_FLOOR``) with the bundled MiniLM.

The corpus is the 33,641 papers of the 2025 listings, their vectors from the embedding cache
(``benchmarks/.cache/embeddings-all-minilm-l6-v2-onnx.npy``). Queries are embedded here:

* ``paraphrase``: the middle sentence of 300 random abstracts (seed 3): the cosine of its paper;
* ``title``: the titles of the same papers: the cosine of its paper;
* ``topic``: 40 short topic queries written by hand: the cosine of the best paper;
* ``nonsense``: 50 random letter strings (seed 4) and 30 sentences of everyday text in other
  languages and about other subjects: the cosine of the best paper (what the floor must cut).

It prints quantiles of each and, for candidate floors, the share of real queries whose paper (or
best paper) stays above and the share of nonsense queries that would still show a result.

    python benchmarks/relevance_floor.py
"""

from __future__ import annotations

import random
import re
import string

import numpy as np
from _search_corpus import cached_embeddings, corpus_data_dir, papers

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.embeddings import Embedders
from dailypapers.search.hybrid import DENSE_FLOOR

TOPICS = [
    "transformer",
    "diffusion models",
    "graph neural networks",
    "reinforcement learning",
    "large language model reasoning",
    "protein structure prediction",
    "dark matter halos",
    "quantum error correction",
    "image segmentation",
    "speech recognition",
    "federated learning privacy",
    "retrieval augmented generation",
    "black hole mergers",
    "robot manipulation",
    "knot invariants",
    "exoplanet atmospheres",
    "neural radiance fields",
    "contrastive learning",
    "time series forecasting",
    "code generation benchmark",
    "mixture of experts",
    "adversarial robustness",
    "superconductivity",
    "topological insulators",
    "causal inference",
    "optimal transport",
    "autonomous driving",
    "medical image analysis",
    "text to image",
    "vision language models",
    "LLM agents",
    "hallucination",
    "sparse attention",
    "quantization of neural networks",
    "galaxy clusters",
    "partial differential equations",
    "recommender systems",
    "machine translation",
    "gravitational waves",
    "point clouds",
]
OTHER_TEXT = [
    "Wie backe ich einen Apfelkuchen mit Zimt?",
    "Le marché du samedi ouvre à huit heures.",
    "¿Dónde está la estación de tren más cercana?",
    "今天天气很好，我们去公园散步吧。",
    "Мы поедем на дачу в субботу утром.",
    "明日は雨が降るでしょう。",
    "오늘 저녁에 뭐 먹을까요?",
    "Il gatto dorme sul divano tutto il pomeriggio.",
    "O time de futebol venceu o campeonato.",
    "Ik ga morgen naar de bakker voor brood.",
    "Kahvaltıda peynir ve zeytin yedik.",
    "أين يمكنني شراء تذكرة الحافلة؟",
    "Η θάλασσα ήταν ήρεμη σήμερα το πρωί.",
    "Jutro idziemy do kina na nowy film.",
    "Vi åt kanelbullar på kaféet i går.",
    "chocolate cake recipe with butter",
    "best pizza place near me",
    "how to fix a flat tyre",
    "football transfer news today",
    "cheap flights to lisbon",
    "my cat keeps sneezing",
    "lyrics of happy birthday",
    "garden tomatoes turning yellow",
    "wedding dress shops",
    "weather tomorrow",
    "knitting a wool scarf",
    "how long to boil an egg",
    "netflix series",
    "parking ticket appeal",
    "buy second hand bicycle",
]


def nonsense(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.choice([1, 1, 1, 2, 3])
        out.append(
            " ".join(
                "".join(
                    rng.choice(string.ascii_lowercase + "0123456789" * (rng.random() < 0.2))
                    for _ in range(rng.randint(4, 12))
                )
                for _ in range(words)
            )
        )
    return out


def main() -> None:
    settings = Settings()
    cached = cached_embeddings(settings.embedding_model, "onnx")
    if cached is None:
        raise SystemExit("needs the embedding cache (benchmarks/embed_cache.py)")
    arxiv_ids, matrix = cached
    engine = make_engine(f"sqlite:///{corpus_data_dir() / 'dailypapers.db'}")
    by_arxiv = papers(engine)
    engine.dispose()
    row = {a: i for i, a in enumerate(arxiv_ids)}
    sample = random.Random(3).sample(sorted(a for a in by_arxiv if a in row), 600)
    sentence_end = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
    para, para_rows, titles, title_rows = [], [], [], []
    for a in sample:
        sentences = [s for s in sentence_end.split(" ".join(by_arxiv[a][2].split())) if s]
        if len(sentences) >= 3 and len(para) < 300:
            para.append(sentences[len(sentences) // 2])
            para_rows.append(row[a])
            titles.append(by_arxiv[a][1])
            title_rows.append(row[a])
    embedder = Embedders().get(settings)
    enc = lambda texts: np.stack([embedder.encode_query(t) for t in texts])  # noqa: E731
    junk = nonsense(50, 4)
    scores = {
        "paraphrase (own paper)": np.einsum("ij,ij->i", enc(para), matrix[para_rows]),
        "title (own paper)": np.einsum("ij,ij->i", enc(titles), matrix[title_rows]),
        "topic (best paper)": (enc(TOPICS) @ matrix.T).max(axis=1),
        "random strings (best)": (enc(junk) @ matrix.T).max(axis=1),
        "other text (best)": (enc(OTHER_TEXT) @ matrix.T).max(axis=1),
    }
    print(f"{'query kind':26s}   n    min    p05    p50    p95    max")
    for name, s in scores.items():
        q = np.quantile(s, [0, 0.05, 0.5, 0.95, 1])
        print(f"{name:26s} {len(s):4d} " + " ".join(f"{v:6.3f}" for v in q))
    print("\nfloor  real kept (para / title / topic)   nonsense with a result (strings / other)")
    for floor in np.arange(0.30, 0.56, 0.025):
        kept = [float((scores[k] >= floor).mean()) for k in list(scores)[:3]]
        leak = [int((scores[k] >= floor).sum()) for k in list(scores)[3:]]
        print(
            f"{floor:5.3f}  {kept[0]:.3f} / {kept[1]:.3f} / {kept[2]:.3f}"
            f"                 {leak[0]} / {leak[1]}"
        )
    for label, texts, key in (
        ("random strings", junk, "random strings (best)"),
        ("other text", OTHER_TEXT, "other text (best)"),
    ):
        above = [t for t, v in zip(texts, scores[key], strict=True) if v >= DENSE_FLOOR]
        print(f"{label} at or above DENSE_FLOOR ({DENSE_FLOOR}): {above}")


if __name__ == "__main__":
    main()
