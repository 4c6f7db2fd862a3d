"""The embedder users get by default — the bundled MiniLM exported to ONNX, attention fused, weights
int8 — against the same model in sentence-transformers (torch, float32), on real abstracts: the
373 cs.CL papers of five days of the bundled sample (one field, so they resemble each other).

- every paper's vector (title + abstract, as stored) is close to torch's: mean cosine >= 0.99,
  none below 0.98 (measured: mean 0.995, min 0.991);
- known-item search does not get worse: 30 of those papers, each with a query written for this
  test in other words than its title (a paraphrase of what the paper does), ranked by cosine among
  all 373 — hit@5 and MRR with ONNX within one item / 0.02 of torch's (measured: hit@5 29 and
  MRR 0.913 with both; int8 per tensor instead of per channel, cosine 0.937, gives 28 and 0.871).

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

DAYS = ("2025-06-16", "2025-06-17", "2025-06-18", "2025-06-23", "2025-06-24")
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
    "2506.11065": "reconstructing the word list of an extinct Russian-Norwegian trade language with chatbots",
    "2506.11068": "words like must and ought push LLMs to call optional actions obligatory",
    "2506.11078": "verifying claims against past cases to spot false news stories with language models",
    "2506.11097": "do tricks for making web pages appear in chatbot search answers actually work",
    "2506.11115": "splitting materials science terms into subwords that keep their meaning",
    "2506.11120": "removing feed-forward neurons from big language models with the model as its own teacher",
    "2506.11128": "as models get better at reasoning their mistakes look more like typical human fallacies",
    "2506.11137": "finding which drugs a patient stopped taking in clinical notes",
    "2506.11338": "word predictability from bigger models fits brain imaging of reading worse",
    "2506.11418": "grouping stored keys and values to cut memory when serving very long prompts",
    "2506.11467": "a game that recruits people to judge translations of under-resourced languages",
    "2506.11903": "a new pretrained encoder model for the German language",
    "2506.11919": "what makes replies to online hate speech persuasive, annotated in six dimensions",
    "2506.12097": "making a model forget data at inference time by contrasting two smaller models",
    "2506.12119": "sparse expert models against dense ones with the same parameters, compute and data",
    "2506.12229": "compressed full-text index for counting exact phrases in petabytes of web text",
    "2506.12433": "do chatbots reflect how moral attitudes differ between countries in global surveys",
    "2506.12615": "annotated entity corpus across sixteen Arabic dialects and ten domains",
    "2506.12637": "how well are claims in encyclopedia biographies backed by their cited sources",
    "2506.12898": "explaining medical jargon to laypeople, a word-level dataset",
    "2506.13013": "stylistic fingerprint of machine versus human English versions of Chinese web novels",
    "2506.13148": "decoder-only models fixing grammar mistakes with as few edits as possible",
    "2506.13681": "re-examining claims that a probability-threshold decoding method improves creative text",
    "2504.18415": "one-bit weights with four-bit activations after a rotation that removes outliers",
    "2405.20947": "measuring how often aligned chatbots refuse harmless requests",
    "2504.08385": "a platform that recommends new preprints to each researcher from their ratings",
    "2506.14111": "a trillion-token pretraining corpus where every document is labelled by topic and quality",
    "2506.14123": "generating text byte by byte from a tokenized model to avoid prompt boundary problems",
    "2506.00854": "decoding Chinese sentences from brain waves with contrastive learning",
    "2506.14203": "guessing the word a patient with naming difficulties is describing",
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
