"""Titles and abstracts with LaTeX on every surface: MathML where HTML can show it (search titles
and snippets, card and paper titles), readable text where it cannot (``<title>``, button labels,
Atom titles). Mails: tests/test_digest_compose.py; the conversion itself: tests/test_plain.py."""

from __future__ import annotations

import re

import feedparser
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dailypapers.search.fts import HIT_END, HIT_START
from dailypapers.search.marks import query_stems, snippet
from dailypapers.web.filters import render_marks
from tests.helpers import add_papers, post, record, sign_in_as

MATH_ID = "2506.20001"
TITLE = "G$^{2}$D: Gradient Guided Learning in $O(T)$ Steps"
ABSTRACT = (
    "Our gradient guided distillation costs $O(T \\log T)$ time per step and needs "
    "$\\ell_2$ regularisation only. " + "More filler words about other things. " * 6
)
READABLE = "G²D: Gradient Guided Learning in O(T) Steps"


def add_math_paper(engine: Engine) -> None:
    add_papers(engine, record(MATH_ID, "2025-06-27", title=TITLE, abstract=ABSTRACT))


def test_marked_snippets_render_math_and_mark_whole_formulas() -> None:
    marked = f"cost {HIT_START}gradient{HIT_END} in $O({HIT_START}T{HIT_END})$ and $x$"
    html = str(render_marks(marked))
    assert "<mark>gradient</mark>" in html
    assert re.search(r"<mark><math [^>]*>.*?</math></mark>", html)  # the hit's formula, whole
    assert html.count("<math") == 2 and "$" not in html
    assert HIT_START not in html and HIT_END not in html


def test_a_snippet_never_cuts_a_formula_in_half() -> None:
    text = "a " * 30 + "$x + y = z$ and gradient " + "b " * 60 + "$p + q$ tail"
    for words in range(3, 40):
        passage = snippet(text, query_stems("gradient"), words=words)
        assert passage is not None
        assert passage.count("$") % 2 == 0, passage


def test_search_results_show_math_not_latex(client: TestClient, engine: Engine) -> None:
    add_math_paper(engine)
    page = client.get("/search", params={"q": "gradient guided distillation"})
    card = page.text.split(f'id="paper-{MATH_ID}"')[1].split("</article>")[0]
    title, abstract = card.split('class="abstract"')
    assert "<mark>Gradient</mark>" in title and "<math" in title  # a marked title
    assert "<mark>gradient</mark>" in abstract and "<math" in abstract  # a snippet
    assert "$" not in card


def test_page_titles_and_buttons_read_as_text(client: TestClient, engine: Engine) -> None:
    add_math_paper(engine)
    paper = client.get(f"/papers/{MATH_ID}").text
    assert f"<title>{READABLE} · " in paper
    assert "<h1><math" not in paper and "<h1>G<math" in paper  # the heading renders math
    sign_in_as(client, engine, "ada@example.org")
    post(client, "/collections", {"name": "Reading"})
    post(client, "/collections/1/items", {"arxiv": MATH_ID})
    collection = client.get("/collections/1").text
    label = re.search(r'<button type="submit" class="link">Remove “([^”]*)”</button>', collection)
    assert label and label.group(1).startswith("G²D: Gradient") and "$" not in label.group(1)
    save = client.get(f"/papers/{MATH_ID}/save").text
    assert "<title>Save “G²D: Gradient" in save


def test_atom_titles_read_as_text(client: TestClient, engine: Engine) -> None:
    add_math_paper(engine)
    feed = feedparser.parse(client.get("/feeds/daily.atom", params={"date": "2025-06-27"}).text)
    assert [entry.title for entry in feed.entries] == [READABLE]
