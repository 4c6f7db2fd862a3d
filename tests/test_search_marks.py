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


def _snippet_word_by_word(abstract: str, stems: frozenset[str], words: int = 40) -> str | None:
    """The snippet as first written (every token split into words and each word stemmed)."""
    from dailypapers.search.marks import _WORD, _marked, _words

    tokens = _words(abstract)
    hit = [1 if any(stem(w) in stems for w in _WORD.findall(t)) else 0 for t in tokens]
    if not any(hit):
        return None
    best, best_start, window = -1, 0, sum(hit[:words])
    for start in range(max(1, len(tokens) - words + 1)):
        if start:
            window += hit[start + words - 1] - hit[start - 1]
        if window > best:
            best, best_start = window, start
    marked, _ = _marked(" ".join(tokens[best_start : best_start + words]), stems)
    prefix = "…" if best_start > 0 else ""
    return prefix + marked + ("…" if best_start + words < len(tokens) else "")


def test_snippet_is_the_word_by_word_answer() -> None:
    """The faster snippet (whole tokens looked up at once) picks the same passage, marked alike."""
    abstract = (
        "We study Graph-based networks (GNNs), e.g. message-passing networks; their networks' "
        "depth matters. Über-deep models over $x_1 + y$ graphs: attention, Attention! "
        "and self-attention... " * 6 + "Finally, graph networks converge. " * 3
    )
    for query in ("graph networks", "attention", "Über models", "x_1", "depth", "nothing here"):
        stems = query_stems(query)
        for words in (5, 12, 40):
            assert snippet(abstract, stems, words) == _snippet_word_by_word(
                abstract, stems, words
            ), (query, words)
