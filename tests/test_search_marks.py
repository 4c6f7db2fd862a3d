"""Marking the query's words in results (pure functions)."""

from __future__ import annotations

from dailypapers.search.fts import HIT_END, HIT_START
from dailypapers.search.marks import mark_title, query_stems, snippet, stem
from dailypapers.web.filters import render_marks


def _plain(marked: str) -> str:
    return marked.replace(HIT_START, "[").replace(HIT_END, "]")


def test_stems_fold_case_accents_and_endings() -> None:
    assert stem("Networks") == stem("network") == "network"
    assert stem("modeling") == stem("models") == "model"
    assert stem("Schrödinger") == stem("schrodinger")
    assert stem("is") == "is"  # too short to cut


def test_title_marks_and_phrases() -> None:
    stems = query_stems('"graph networks" NEAR( -attention*')
    assert _plain(mark_title("Attention over Graph Networks", stems) or "") == (
        "[Attention] over [Graph] [Networks]"
    )
    assert mark_title("Protein folding", stems) is None
    assert (
        mark_title("Smuggled \x02mark\x03", query_stems("mark"))
        == f"Smuggled {HIT_START}mark{HIT_END}"
    )


def test_snippet_picks_the_passage_with_most_hits() -> None:
    words = [f"w{i}" for i in range(100)]
    words[70:73] = ["spiking", "neurons", "fire"]
    abstract = " ".join(words)
    passage = _plain(snippet(abstract, query_stems("spiking neuron"), words=10) or "")
    assert passage.startswith("…") and passage.endswith("…")
    assert "[spiking] [neurons]" in passage and len(passage.split()) == 10
    assert snippet(abstract, query_stems("protein")) is None
    short = _plain(snippet("Spiking nets.", query_stems("spiking")) or "")
    assert short == "[Spiking] nets."


def test_marks_render_escaped() -> None:
    marked = mark_title("<b>Graph</b> & co", query_stems("graph")) or ""
    assert str(render_marks(marked)) == "&lt;b&gt;<mark>Graph</mark>&lt;/b&gt; &amp; co"
