"""The topic users of benchmarks/recommend_quality.py (``_topic_users.py``): phrases mined from a
tiny synthetic corpus (deterministically, plurals with their singular, no near-duplicates, no
fragments, no boilerplate), the phrase stripped from a text until none is left, and the tf-idf
rows replaced with the phrase's own column dropped."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import _topic_users as tu

FILLER = [
    "galaxy",
    "protein",
    "quantum",
    "traffic",
    "sensor",
    "lattice",
    "compiler",
    "weather",
    "ocean",
    "kernel",
]


def corpus(n: int = 1000) -> tuple[list[str], list[str], np.ndarray]:
    """``n`` papers over 50 days; "graph neural network(s)" in every 100th (1 %), "sparse
    autoencoder" in every 50th (2 %; once in the plural), "extensive experiments" in every 80th
    but never in a title; the rest filler."""
    rng = np.random.default_rng(0)
    texts, titles = [], []
    for i in range(n):
        words = " ".join(rng.choice(FILLER, 12))
        title = f"On {FILLER[i % 10]} {FILLER[(i // 10) % 10]}"
        body = words
        if i % 100 == 0:
            title = f"Graph Neural Networks for {FILLER[i % 7]}"
            body += " we train a graph-neural network here"
        if i % 50 == 1:
            title += " with a Sparse Autoencoder"
            body += " sparse autoencoders" if i == 1 else " a sparse autoencoder"
        if i % 80 == 3:
            body += " extensive experiments show it"
        titles.append(title)
        texts.append(f"{title}. {body}")
    return texts, titles, np.arange(n) // 20


def test_stripping_leaves_no_occurrence() -> None:
    compiled = tu.pattern("graph neural network")
    text = (
        "Graph Neural Networks (GNNs): a graph-neural network, a GRAPH\nneural networks' "
        "rival; graph graph neural network neural network; subgraph neural networks stay"
    )
    stripped = tu.strip(text, compiled)
    assert not compiled.search(stripped)
    assert "subgraph neural networks stay" in stripped  # word-bounded
    assert "GNNs" in stripped and "rival" in stripped
    # removing one occurrence may join a new one; it goes too
    assert tu.strip("graph neural graph neural network network", compiled).split() == []
    for phrase, plural in (("neural network", "Neural Networks"), ("strategy", "strategies")):
        assert tu.strip(f"a {plural} b", tu.pattern(phrase)).split() == ["a", "b"]
    assert tu.strip("autoencoderss", tu.pattern("autoencoder")) == "autoencoderss"


def test_mining_is_deterministic_and_follows_its_rules() -> None:
    texts, titles, day = corpus()
    first = tu.mine_phrases(texts, titles, day, 40, "report", 10) + tu.mine_phrases(
        texts, titles, day, 40, "tune", 10
    )
    again = tu.mine_phrases(texts, titles, day, 40, "report", 10) + tu.mine_phrases(
        texts, titles, day, 40, "tune", 10
    )
    assert [(t.phrase, t.rows.tolist()) for t in first] == [
        (t.phrase, t.rows.tolist()) for t in again
    ]
    phrases = {t.phrase for t in first}
    # in the band, in titles, the plural with its singular; the 2-word fragments of the 3-word
    # phrase are not mined on their own; boilerplate that no title holds is not a topic
    assert phrases == {"graph neural network", "sparse autoencoder"}
    gnn = next(t for t in first if t.phrase == "graph neural network")
    assert gnn.rows.tolist() == list(range(0, 1000, 100))
    sae = next(t for t in first if t.phrase == "sparse autoencoder")
    assert sae.rows.tolist() == list(range(1, 1000, 50))
    for topic in first:
        assert tu.split_of(topic.phrase) in ("tune", "report")


def test_candidates_skip_fragments_and_do_not_depend_on_document_order() -> None:
    texts, titles, _ = corpus()
    found = tu.candidate_phrases(texts[:800], titles[:800])
    assert "graph neural network" in found and "sparse autoencoder" in found
    for fragment in ("graph neural", "neural network", "neural networks", "sparse autoencoders"):
        assert fragment not in found
    assert "extensive experiments" not in found  # in no title
    order = np.random.default_rng(1).permutation(800)
    assert tu.candidate_phrases([texts[i] for i in order], [titles[i] for i in order]) == found


def test_near_duplicates_and_band() -> None:
    assert tu.near_duplicate("neural network", ["graph neural networks"])
    assert tu.near_duplicate("graph neural networks", ["neural network"])
    assert not tu.near_duplicate("neural network", ["graph neural"])
    texts, titles, day = corpus()
    low, high = tu.BAND
    tu.BAND = (0.015, 0.03)  # 1 % is now below the band: only the 2 % phrase is left
    try:
        mined = {
            t.phrase
            for s in ("tune", "report")
            for t in tu.mine_phrases(texts, titles, day, 40, s, 10)
        }
    finally:
        tu.BAND = (low, high)
    assert mined == {"sparse autoencoder"}


def test_topic_users_library_and_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tu, "MIN_TARGETS", 1)
    monkeypatch.setattr(tu, "LIBRARY", 5)
    texts, titles, day = corpus()
    weeks = [(40, 44), (45, 49)]
    users: list[tuple[str, int, np.ndarray, set[int]]] = []
    for split in ("tune", "report"):
        users += tu.topic_users(texts, titles, day, weeks, split, 10)[0]
    assert users
    for phrase, w, library, targets in users:
        compiled = tu.pattern(phrase)
        start, end = weeks[w]
        assert len(library) == tu.LIBRARY and (day[library] < start).all()
        assert all(compiled.search(texts[i]) for i in library)
        assert len(targets) >= tu.MIN_TARGETS
        assert targets == {
            i for i in range(len(texts)) if start <= day[i] <= end and compiled.search(texts[i])
        }


def test_replace_rows_drops_the_phrase_column() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    pytest.importorskip("sklearn")
    x = sparse.csr_matrix(np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8], [1.0, 0.0, 0.0]]))
    new = sparse.csr_matrix(np.array([[0.0, 0.0, 1.0]]))
    out = tu.replace_rows(x, np.array([2]), new, [1]).toarray()
    assert np.allclose(out, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    columns = tu.phrase_columns("sparse autoencoder", {"sparse autoencoders": 4, "sparse": 1})
    assert columns == [4]
