"""The embedder users get by default — the bundled MiniLM exported to ONNX, attention fused, weights
int8 — against the same model in sentence-transformers (torch, float32), on real abstracts: the
350 cs.CL papers of five days of the bundled sample (one field, so they resemble each other).

- every paper's vector (title + abstract, as stored) is close to torch's: mean cosine >= 0.99,
  none below 0.98 (measured: mean 0.995, min 0.989);
- known-item search does not get worse: 30 of those papers, each with a query written for this
  test in other words than its title (a paraphrase of what the paper does), ranked by cosine among
  all 350 — hit@5 and MRR with ONNX within one item / 0.02 of torch's (measured: hit@5 29 with
  both, MRR 0.882 ONNX, 0.894 torch). On the sample's earlier days (373 papers, other queries),
  int8 per tensor instead of per channel gave cosine 0.937 and MRR 0.871 against torch's 0.913.

The ONNX export takes about 20 s of CPU; it is kept in the system's temporary folder
(``dailypapers-test-onnx-<hash of the export code>``, 22 MB) so later runs reuse it. Embedding the
abstracts twice takes most of the rest: ~75 s of CPU in all.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from dailypapers.config import Settings
from dailypapers.embeddings import Embedder, load_embedder, onnx_backend, paper_text
from dailypapers.embeddings.onnx_backend import OnnxBackend
from dailypapers.embeddings.torch_backend import TorchBackend
from dailypapers.services.sample import sample_files

DAYS = ("2025-06-23", "2025-06-24", "2025-06-25", "2025-06-30", "2025-07-01")
CATEGORY = "cs.CL"  # one field: the papers resemble each other, so ranking is not trivial
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def export_cache() -> Path:
    """Where this test keeps its ONNX export between runs (only ``models/`` is written there):
    named by the export code and ONNX Runtime's version too, so that changing either (without
    bumping EXPORT_VERSION) exports afresh instead of testing an old file."""
    code = Path(onnx_backend.__file__).read_bytes() + version("onnxruntime").encode()
    return (
        Path(tempfile.gettempdir())
        / f"dailypapers-test-onnx-{hashlib.sha256(code).hexdigest()[:12]}"
    )


MEAN_COSINE, MIN_COSINE = 0.99, 0.98
HIT5_MARGIN, MRR_MARGIN = 1, 0.02  # known items, MRR

# arXiv id -> a query for it in other words than its title
KNOWN_ITEMS = {
    "2506.11097": "do tricks for making web pages appear in chatbot search answers actually work",
    "2506.11903": "a new pretrained encoder model for the German language",
    "2506.13681": "re-examining claims that a probability-threshold decoding method improves creative text",
    "2506.14111": "a trillion-token pretraining corpus where every document is labelled by topic and quality",
    "2506.21582": "helping beginner analysts break down and run text analysis tasks with interactive agents",
    "2505.16023": "how people steer and revise text with chatbots while writing, patterns from real usage",
    "2506.21621": "a big collection of machine-written math proofs judged by human experts",
    "2506.22808": "questions testing whether medical chatbots behave ethically",
    "2407.01461": "rewriting vague user prompts with a rewriter trained by reinforcement so models answer better",
    "2506.15830": "natural gradient and the Fisher metric as a view of how large models are trained",
    "2406.18219": "what the routers and sparse experts inside mixture models actually do",
    "2506.16756": "simulating distressed users to build a corpus of comforting dialogues",
    "2506.06609": "mapping hidden states between two language models with an affine map to reuse sparse autoencoders",
    "2506.06619": "a benchmark for writing and editing court filings",
    "2505.13271": "turning questions into database queries, picking among sampled answers and fixing them",
    "2506.22694": "make draft-and-verify generation faster by cutting the draft model's output vocabulary",
    "2506.19399": "telling whether a passage was in a closed model's training data without its weights",
    "2502.17036": "neural rerankers fail when query and passage share few words and do no better than BM25",
    "2506.21584": "an 8B instruction model pretending to be aligned, and prompts that reduce it",
    "2506.22529": "false news spreading through German messaging channels found with the graph of forwards",
    "2506.21686": "a sentiment dataset for regional dialects of Bengali",
    "2506.21910": "using intermediate training checkpoints to decide the proportions of training data",
    "2506.21577": "adding new languages to a Whisper speech recognizer with prompts tuned per language",
    "2506.16322": "a safety classifier and benchmark for harmful content in Polish",
    "2506.21615": "diagnosis from health records guided by clinical guidelines instead of billing codes",
    "2506.22791": "reusing stored answers for follow-up questions by looking at earlier turns of the chat",
    "2506.19058": "matching job titles to each other and to skills, a shared task entry",
    "2506.22316": "biases in the scores that models acting as evaluators assign",
    "2411.16813": "fine-tuning a chat model on Reddit and Twitter political debates makes it rude and stubborn",
    "2506.23315": "classifying medication events in clinical notes with several BERT models combined",
}


def sample_papers() -> tuple[list[str], list[str]]:
    """The ids and embedded texts of the sample's CATEGORY papers announced on DAYS (once each)."""
    papers: dict[str, str] = {}
    for path in sample_files():
        if path.name[:10] in DAYS:
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                for row in map(json.loads, lines):
                    if row["categories"][0] == CATEGORY:
                        papers.setdefault(row["id"], paper_text(row["title"], row["summary"]))
    return list(papers), list(papers.values())


@pytest.fixture(scope="module")
def embedders() -> tuple[Embedder, Embedder]:
    settings = Settings(
        data_dir=export_cache(), embedding_model=MODEL, embedding_device="cpu", _env_file=None
    )  # type: ignore[call-arg]
    onnx = load_embedder(settings.model_copy(update={"embedding_backend": "onnx"}))
    torch_ = load_embedder(settings.model_copy(update={"embedding_backend": "torch"}))
    assert isinstance(onnx.backend, OnnxBackend) and isinstance(torch_.backend, TorchBackend)
    return onnx, torch_


def known_item_ranks(embedder: Embedder, ids: list[str], papers: np.ndarray) -> list[int]:
    """Each known item's rank (1 = first) among the papers for its query."""
    ranks = []
    for arxiv_id, query in KNOWN_ITEMS.items():
        scores = papers @ embedder.encode_query(query)
        ranks.append(int((scores > scores[ids.index(arxiv_id)]).sum()) + 1)
    return ranks


def test_the_shipped_int8_minilm_matches_torch_on_real_abstracts(
    embedders: tuple[Embedder, Embedder],
) -> None:
    onnx, torch_ = embedders
    ids, texts = sample_papers()
    missing = set(KNOWN_ITEMS) - set(ids)
    assert not missing, f"the sample's listings changed: pick other known items ({missing})"
    a, b = onnx.encode(texts), torch_.encode(texts)
    cosines = np.sum(a * b, axis=1)
    print(f"cosine ONNX int8 vs torch over {len(texts)} abstracts: mean {cosines.mean():.4f}")
    print(f"  min {cosines.min():.4f} ({ids[int(cosines.argmin())]})")
    assert float(cosines.mean()) >= MEAN_COSINE
    assert float(cosines.min()) >= MIN_COSINE, ids[int(cosines.argmin())]

    onnx_ranks, torch_ranks = known_item_ranks(onnx, ids, a), known_item_ranks(torch_, ids, b)
    hit5 = [sum(r <= 5 for r in ranks) for ranks in (onnx_ranks, torch_ranks)]
    mrr = [float(np.mean([1 / r for r in ranks])) for ranks in (onnx_ranks, torch_ranks)]
    print(f"known items ({len(KNOWN_ITEMS)}): hit@5 ONNX {hit5[0]}, torch {hit5[1]}")
    print(f"  MRR ONNX {mrr[0]:.3f}, torch {mrr[1]:.3f}")
    assert hit5[1] >= 0.8 * len(KNOWN_ITEMS)  # the queries find their papers at all
    assert hit5[0] >= hit5[1] - HIT5_MARGIN
    assert mrr[0] >= mrr[1] - MRR_MARGIN
