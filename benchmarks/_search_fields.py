"""search_quality.py --fields: levers of the dense half, chosen on the tune half, reported on the other.

Paper side (sentence and described queries: the title kind searches abstract-only vectors on
purpose, and a title vector would find a title query by construction):

* ``title``: a second vector per paper, its title alone (``embed_cache.py --field title``); the
  dense score is the title+abstract cosine, the title cosine, their maximum or ``paper + a * title``;
* ``lead``: title + the abstract's first two sentences instead of the whole abstract
  (``embed_cache.py --field lead``), alone, as a maximum or as a weighted sum;
* ``tail``: a second vector of what the model's truncation cuts off (title + the text past the
  embedding length, 32 word pieces of overlap; ``embed_cache.py --field tail``; the paper's own
  vector when its text fits), alone, as a maximum (the best chunk) or a weighted sum.

Query side (both kinds): an instruction prefix on the query; the keyword-stripped query (stop words
out) as a second variant, averaged with the query or as a third ranking in the fusion; pseudo-relevance
feedback (Rocchio: the query vector plus ``b`` times the mean of its top-3 dense hits, normalised);
and the dense candidate depth (recall@50/100/300, and fusion fed 100, 200 or 300 dense candidates).

Every row is fused with the same BM25 ranking (``RRF_K``, ``DENSE_WEIGHT``, as shipped) and reported as
hit@1/5/10 and MRR of dense alone and of the fusion, on both halves. Dense rows are exact (a matrix
product), without the relevance floor (it moves sentence MRR by ~0.002, see ``--extras``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from _search_corpus import CACHE, embed_cached, model_slug
from embed_cache import Tails, lead_sentences

from dailypapers.embeddings import Embedder, paper_text
from dailypapers.enrich.words import STOP_WORDS, tokens
from dailypapers.search.hybrid import DENSE_WEIGHT, RRF_K, rrf_fuse

PREFIXES = {
    "prefix 'query: '": "query: ",
    "prefix 'Represent ...'": "Represent this sentence for searching relevant passages: ",
}
WEIGHTS = (0.25, 0.5, 1.0)
ROCCHIO = (0.25, 0.5, 1.0)
DEPTHS = (100, 200, 300)
DEEPEST = max(DEPTHS)
LEAD_SENTENCES = 2  # as embed_cache.py --field lead

Scores = Callable[[np.ndarray, slice], np.ndarray]  # query rows, corpus slice -> cosine block
Metrics = tuple[float, float, float, float]


@dataclass
class Inputs:
    """One kind of query as search_quality.py measured it."""

    name: str
    queries: list[str]
    query_vectors: np.ndarray
    targets: list[int]  # paper ids
    corpus_ids: list[int]  # row order of ``matrix``
    matrix: np.ndarray  # the vectors searched (held-out papers already replaced)
    keyword: list[list[int]]  # BM25 ranking per query
    rests: list[str]  # held-out abstracts (the known items' abstract text as indexed)
    titles: list[str]


def _metrics(ranks: Sequence[int | None]) -> Metrics:
    n = max(1, len(ranks))
    hit = [sum(1 for r in ranks if r is not None and r <= c) / n for c in (1, 5, 10)]
    return hit[0], hit[1], hit[2], sum(1 / r for r in ranks if r is not None) / n


def _rank(target: int, ranking: Sequence[int], depth: int | None = None) -> int | None:
    for position, item in enumerate(ranking[:depth], start=1):
        if item == target:
            return position
    return None


def field_matrix(
    field: str, model: str, backend: str, arxiv_of: dict[int, str], ids: list[int]
) -> np.ndarray | None:
    """The cached vectors of one field (embed_cache.py --field), rows in ``ids`` order, or None."""
    stem = f"embeddings-{model_slug(model)}-{backend}-{field}"
    path, ids_path = CACHE / f"{stem}.npy", CACHE / f"{stem}.ids.json"
    if not path.exists() or not ids_path.exists():
        print(f"no {path.name}: run benchmarks/embed_cache.py --field {field} (skipping it)")
        return None
    row = {a: i for i, a in enumerate(json.loads(ids_path.read_text()))}
    matrix = np.load(path)
    missing = [p for p in ids if arxiv_of.get(p) not in row]
    if missing:
        print(f"{path.name} lacks {len(missing)} of the papers searched (skipping it)")
        return None
    return np.asarray(matrix[[row[arxiv_of[p]] for p in ids]], dtype=np.float32)


def _top(score: Scores, queries: np.ndarray, ids: np.ndarray) -> list[list[int]]:
    """The ``DEEPEST`` best corpus ids per query row for a score function."""
    out: list[list[int]] = []
    for start in range(0, len(queries), 100):
        block = score(queries[start : start + 100], slice(None))
        part = np.argpartition(-block, DEEPEST, axis=1)[:, :DEEPEST]
        for row, cand in zip(block, part, strict=True):
            best = cand[np.argsort(-row[cand], kind="stable")]
            out.append(ids[best].tolist())
    return out


def _strip(query: str) -> str:
    words = [t for t in tokens(query) if t.lower() not in STOP_WORDS and len(t) > 1]
    return " ".join(words) or query


def _embed_tails(embedder: Embedder, name: str, keys: list[str], texts: list[str]) -> np.ndarray:
    """Cached vectors of tails; an empty tail (the text fits) is a zero row."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    rows = [i for i, text in enumerate(texts) if text]
    out[rows] = embed_cached(embedder, name, [keys[i] for i in rows], [texts[i] for i in rows])
    return out


def _lead(title: str, abstract: str) -> str:
    return paper_text(title, " ".join(lead_sentences(abstract, LEAD_SENTENCES)))


def fields(
    inputs: Inputs,
    embedder: Embedder,
    tag: str,
    halves: dict[str, list[int]],
    extra: dict[str, np.ndarray],
    max_length: int,
) -> dict[str, dict[str, Metrics]]:
    """Print and return each lever's figures (dense and hybrid) on both halves.

    ``extra``: per-field matrices (``title``, ``lead``) in ``inputs.corpus_ids`` order."""
    paper, q = inputs.matrix, inputs.query_vectors
    ids = np.asarray(inputs.corpus_ids)
    row = {p: i for i, p in enumerate(inputs.corpus_ids)}
    keys = [str(t) for t in inputs.targets]
    variants: dict[str, list[list[int]]] = {}

    def dense(label: str, score: Scores, queries: np.ndarray = q) -> None:
        variants[label] = _top(score, queries, ids)

    dense("paper (shipped)", lambda v, s: v @ paper.T)
    if inputs.name in ("sentence", "described"):
        fields_here = dict(extra)
        pairs = list(zip(inputs.titles, inputs.rests, strict=True))
        known = [row[t] for t in inputs.targets]
        held_out = inputs.name == "sentence"  # described papers are indexed whole, as cached
        if "lead" in fields_here and held_out:  # the known items' lead: of the abstract as indexed
            fields_here["lead"] = np.array(fields_here["lead"])
            texts = [_lead(t, r) for t, r in pairs]
            fields_here["lead"][known] = embed_cached(embedder, f"quality-leads-{tag}", keys, texts)
        if "tail" in fields_here:  # and their tail: what truncating that text cuts off
            fields_here["tail"] = np.array(fields_here["tail"])
            if held_out:
                tails = Tails(embedder.model_name, max_length)
                texts = [tails(t, r) for t, r in pairs]
                fields_here["tail"][known] = _embed_tails(
                    embedder, f"quality-tails-{tag}", keys, texts
                )
            # A paper whose text fits has no tail: its one chunk stands in, so that a weighted sum
            # does not favour the papers that have two (a zero row would).
            fits = ~fields_here["tail"].any(axis=1)
            fields_here["tail"][fits] = paper[fits]
        for field, other in fields_here.items():
            dense(field, lambda v, s, o=other: v @ o.T)
            dense(f"max(paper, {field})", lambda v, s, o=other: np.maximum(v @ paper.T, v @ o.T))
            for a in WEIGHTS:
                dense(f"paper + {a} {field}", lambda v, s, o=other, a=a: v @ (paper + a * o).T)
    for label, prefix in PREFIXES.items():
        texts = [prefix + query for query in inputs.queries]
        slug = "".join(c for c in prefix if c.isalnum())[:12]
        vectors = embed_cached(embedder, f"quality-{inputs.name}-{slug}-{tag}", keys, texts)
        dense(label, lambda v, s: v @ paper.T, vectors)
    stripped = embed_cached(
        embedder, f"quality-{inputs.name}-stripped-{tag}", keys, [_strip(x) for x in inputs.queries]
    )
    dense("stripped query", lambda v, s: v @ paper.T, stripped)
    both = q + stripped
    both /= np.linalg.norm(both, axis=1, keepdims=True)
    dense("mean(query, stripped)", lambda v, s: v @ paper.T, both)
    top3 = [[row[p] for p in ranking[:3]] for ranking in variants["paper (shipped)"]]
    feedback = np.stack([paper[r].mean(axis=0) for r in top3])
    for b in ROCCHIO:
        moved = q + b * feedback
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        dense(f"Rocchio b={b}", lambda v, s: v @ paper.T, moved)

    results: dict[str, dict[str, Metrics]] = {"tune": {}, "report": {}}
    recall: dict[str, list[float]] = {}
    fused_rows: dict[str, list[list[int]]] = {}
    for label, rankings in variants.items():
        fused_rows[label] = [
            [p for p, _ in rrf_fuse([kw, dn[:100]], k=RRF_K, weights=[1.0, DENSE_WEIGHT])]
            for kw, dn in zip(inputs.keyword, rankings, strict=True)
        ]
    stripped_ranks = variants["stripped query"]
    fused_rows["RRF(BM25, query, stripped)"] = [
        [
            p
            for p, _ in rrf_fuse(
                [kw, dn[:100], st[:100]], k=RRF_K, weights=[1.0, DENSE_WEIGHT, 1.0]
            )
        ]
        for kw, dn, st in zip(
            inputs.keyword, variants["paper (shipped)"], stripped_ranks, strict=True
        )
    ]
    for depth in DEPTHS[1:]:
        fused_rows[f"dense depth {depth}"] = [
            [p for p, _ in rrf_fuse([kw, dn[:depth]], k=RRF_K, weights=[1.0, DENSE_WEIGHT])]
            for kw, dn in zip(inputs.keyword, variants["paper (shipped)"], strict=True)
        ]
    for label, rankings in variants.items():
        recall[label] = [
            float(
                np.mean(
                    [_rank(inputs.targets[i], rankings[i], d) is not None for i in range(len(q))]
                )
            )
            for d in (50, 100, DEEPEST)
        ]
    print(
        f"\nfields and query levers, {inputs.name} queries (n = {len(halves['tune'])} tune / "
        f"{len(halves['report'])} report): dense recall@50/100/{DEEPEST} (both halves), hybrid "
        f"(RRF with BM25, k={RRF_K}, dense weight {DENSE_WEIGHT}) hit@1/5/10 and MRR per half, "
        "dense MRR per half"
    )
    print(
        f"  {'dense half':27s} {'R@50  R@100 R@300':17s} | tune h@1 h@5  h@10  MRR  "
        " | report h@1 h@5  h@10  MRR   | dense MRR tune, report"
    )
    for label in fused_rows:
        line = f"  {label:27s} "
        line += " ".join(f"{x:5.3f}" for x in recall[label]) if label in recall else " " * 17
        dense_mrr = ""
        for half, chosen in halves.items():
            hybrid = _metrics([_rank(inputs.targets[i], fused_rows[label][i]) for i in chosen])
            results[half][f"hybrid {label}"] = hybrid
            line += " | " + " ".join(f"{v:5.3f}" for v in hybrid)
            if label in variants:
                dn = _metrics([_rank(inputs.targets[i], variants[label][i], 100) for i in chosen])
                results[half][f"dense {label}"] = dn
                dense_mrr += f" {dn[3]:6.3f}"
        print(line + " |" + dense_mrr, flush=True)
    tuned = max(
        (label for label in results["tune"] if label.startswith("hybrid")),
        key=lambda label: results["tune"][label][3],
    )
    base = results["report"]["hybrid paper (shipped)"][3]
    print(
        f"  chosen on the tune half: {tuned}; on the report half its MRR is "
        f"{results['report'][tuned][3]:.3f} (shipped {base:.3f}, "
        f"{results['report'][tuned][3] - base:+.3f})"
    )
    return results
