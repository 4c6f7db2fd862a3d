"""Key phrases and the extracted TL;DR: quality against the hand-labelled set, the job (stored per
paper, done again only when the text changes), and how pages and the API show them."""

from __future__ import annotations

import gzip
import json
import time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from huggingface_hub.hf_api import PaperInfo
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.db.extras import PaperSummary
from dailypapers.enrich.keyphrases import PhraseStats, key_phrases
from dailypapers.enrich.sentences import split_sentences
from dailypapers.enrich.tldr import select_tldr
from dailypapers.services.summaries import count_pending, summarize_pending
from tests.helpers import add_papers, record

LABELS = Path(__file__).parent / "data" / "tldr_labels.json"
ABSTRACT = (
    "Large language models forget long contexts. In this paper, we propose CacheFlow, a KV cache "
    "compression method that keeps the tokens attention needs. CacheFlow compresses the KV cache "
    "by 4x. Experiments show 12% better accuracy than eviction baselines."
)


@cache
def _sample() -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    folder = resources.files("dailypapers") / "sample"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jsonl.gz"):
            for line in gzip.decompress(entry.read_bytes()).splitlines():
                row = json.loads(line)
                rows.setdefault(row["id"], row)
    return rows


def _accuracy(pick: Any) -> float:
    labels = json.loads(LABELS.read_text())["labels"]
    return sum(pick(label["title"], label["abstract"]) == label["tldr"] for label in labels) / len(
        labels
    )


def test_the_selector_beats_first_and_last_sentence_on_the_labelled_set() -> None:
    labels = json.loads(LABELS.read_text())["labels"]
    assert len(labels) >= 60 and len({label["id"] for label in labels}) == len(labels)
    for label in labels:  # each label is a sentence of that abstract as split today
        assert label["tldr"] in split_sentences(label["abstract"])
    # the labels keep their abstracts (the bundled sample has moved since): 39 of the 66 papers are
    # still bundled, 37 with the same text (2 were revised on arXiv between the two listings)
    same = [
        label
        for label in labels
        if label["id"] in _sample()
        and label["abstract"].split() == _sample()[label["id"]]["summary"].split()
    ]
    assert len(same) >= 35
    selector = _accuracy(select_tldr)
    first = _accuracy(lambda _title, abstract: split_sentences(abstract)[0])
    last = _accuracy(lambda _title, abstract: split_sentences(abstract)[-1])
    # measured: 0.86 (57 of 66) against 0.20 and 0.03 (README, "Key phrases and TL;DR")
    assert selector >= 0.80 and first <= 0.25 and last <= 0.05, (selector, first, last)


def test_tldr_is_a_sentence_of_the_abstract_never_a_link_or_background() -> None:
    assert select_tldr("CacheFlow: KV cache compression", ABSTRACT).startswith(
        "In this paper, we propose CacheFlow"
    )
    assert select_tldr("T", "") == ""
    one = "Only one sentence here about nothing in particular."
    assert select_tldr("T", one) == one
    math = "We prove $a. b$ holds for e.g. Fig. 2 in all cases considered here. Code: https://github.com/a/b."
    assert select_tldr("Proof", math).startswith("We prove $a. b$ holds for e.g. Fig. 2")


def test_key_phrases_are_words_of_the_paper_scored_against_the_corpus() -> None:
    stats = PhraseStats.from_texts(
        ["Large language models are large.", "Language models again.", "Models of models."] * 5
    )
    phrases = key_phrases("CacheFlow: KV cache compression", ABSTRACT, stats)
    assert phrases[0] in ("KV cache compression", "CacheFlow")
    assert "KV cache compression" in phrases and len(phrases) <= 5
    text = ("CacheFlow: KV cache compression " + ABSTRACT).lower()
    assert all(phrase.lower() in text for phrase in phrases)  # extractive
    assert not any("propose" in p or p.lower() in {"paper", "method"} for p in phrases)


def test_the_job_stores_them_and_redoes_only_changed_text(engine: Engine) -> None:
    add_papers(
        engine,
        record(
            "2506.00001", "2025-06-17", title="CacheFlow: KV cache compression", abstract=ABSTRACT
        ),
        record("2506.00002", "2025-06-17"),
    )
    assert count_pending(engine) == 2
    run = summarize_pending(engine)
    assert (run.done, count_pending(engine)) == (2, 0)
    with Session(engine) as session:
        first = session.scalar(select(PaperSummary).where(PaperSummary.paper_id == 1))
        assert first is not None and "KV cache compression" in first.keywords
        assert first.tldr.startswith("In this paper, we propose CacheFlow")
    # a new version with the same text: only the time moves; a changed abstract: done again
    time.sleep(1.05)  # papers.modified_at has whole seconds (CURRENT_TIMESTAMP)
    add_papers(engine, record("2506.00002", "2025-06-17", version=2, comment="v2: typo"))
    add_papers(
        engine,
        record(
            "2506.00001",
            "2025-06-17",
            version=2,
            title="CacheFlow: KV cache compression",
            abstract="We introduce CacheFlow v2, a method for streaming attention sinks.",
        ),
    )
    again = summarize_pending(engine)
    assert (again.done, again.unchanged) == (1, 1)
    with Session(engine) as session:
        changed = session.get(PaperSummary, 1)
        assert changed is not None and changed.tldr.startswith("We introduce CacheFlow v2")


def test_pages_and_api_name_them_as_extracted(engine: Engine, client: TestClient) -> None:
    add_papers(
        engine,
        record(
            "2506.00001", "2025-06-17", title="CacheFlow: KV cache compression", abstract=ABSTRACT
        ),
    )
    summarize_pending(engine)
    feed = client.get("/papers/date/2025-06-17").text
    assert "TL;DR (extracted)" in feed and "In this paper, we propose CacheFlow" in feed
    assert (
        '<a class="phrase" href="/search?q=%22KV%20cache%20compression%22">KV cache compression</a>'
        in feed
    )
    page = client.get("/papers/2506.00001").text
    assert "Key phrases" in page and "TL;DR (extracted)" in page
    assert "AI summary" not in page and "generated" not in page.lower()
    paper = client.get("/api/papers/2506.00001").json()
    info = PaperInfo(**paper)
    assert info.ai_summary == paper["ai_summary"] and info.ai_summary.startswith("In this paper")
    assert info.ai_keywords == paper["ai_keywords"] and "KV cache compression" in info.ai_keywords
    hits = client.get("/search", params={"q": '"KV cache compression"'})
    assert hits.status_code == 200 and "CacheFlow" in hits.text
