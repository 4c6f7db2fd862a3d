"""Spelling suggestions from the corpus's words: the vocabulary, the rule that keeps other
languages out, "Did you mean" on the page and X-Search-Suggestion on the API, and a query with no
hits retried with the suggestion."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.runtime import Runtime
from dailypapers.search.spelling import Spelling, Vocabulary, edit_distance
from dailypapers.web.app import create_app
from tests.helpers import add_papers, record

TEXTS = [
    "Transformer models for language. Attention is what a transformer computes.",
    "Diffusion models generate images; graph neural networks pass messages.",
    "Reinforcement learning with language feedback. Protein folding by attention.",
    "Whether segmentation helps: transformer segmentation of images with attention.",
    "Protein folding, graph networks and diffusion in reinforcement learning models.",
    "Neural diffusion, graph neural networks, protein folding, reinforcement learning, language "
    "segmentation.",
]


@pytest.fixture
def vocabulary() -> Vocabulary:
    return Vocabulary.from_texts(TEXTS)


def test_edit_distance() -> None:
    assert edit_distance("transfomer", "transformer", 2) == 1
    assert edit_distance("grpah", "graph", 1) == 1  # a swap is one edit
    assert edit_distance("protien", "protein", 2) == 1
    assert edit_distance("abc", "xyz", 1) == 2  # over the limit: limit + 1


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        ("transfomer", "transformer"),
        ("Transfomer", "Transformer"),  # the case typed is kept
        ("difusion models", "diffusion models"),
        ("grpah neural networks", "graph neural networks"),
        ("protien folding", "protein folding"),
        ("reinforcment learning", "reinforcement learning"),
        ('"atention" models', '"attention" models'),
    ],
)
def test_misspellings_are_corrected(vocabulary: Vocabulary, query: str, suggestion: str) -> None:
    assert vocabulary.suggest(query) == suggestion


@pytest.mark.parametrize(
    "query",
    [
        "transformer",  # nothing to correct
        "Wie backe ich einen Apfelkuchen",  # another language: no suggestion, not a wrong one
        "wetter",
        "bonjour",
        "Привет мир",
        "注意力机制",
        "Transformér",  # accented: not English gone wrong
        "xqzvbnmw",  # no word near it
        "zzzz qqqq models",  # most words unknown
        "GPT4 2025",
        "",
        "a",
        'author:"Tranformer Smith"',
    ],
)
def test_no_suggestion(vocabulary: Vocabulary, query: str) -> None:
    assert vocabulary.suggest(query) is None


@pytest.fixture
def common() -> Vocabulary:
    """A vocabulary whose counts are those of a real corpus's common and rare words."""
    counts = {"reinforcement": 2000, "learning": 28000, "diffusion": 5000, "models": 45000}
    counts |= {"image": 14000, "adaptation": 2600, "speculative": 267, "decoding": 1400}
    counts |= {"grand": 41, "redi": 4, "neural": 8500, "artificially": 40, "intelligence": 3000}
    counts |= {"yang": 500, "brief": 900, "donald": 20, "low": 3000, "rank": 2000, "grpo": 200}
    return Vocabulary(Counter(counts))


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        # every word misspelt, each one edit from a common word
        ("reinforcment lerning", "reinforcement learning"),
        ("diffusoin modles", "diffusion models"),
        ("sepculative decodding", "speculative decoding"),
        # the first two letters swapped
        ("miage diffusion", "image diffusion"),
        ("low rank daaptation", "low rank adaptation"),
    ],
)
def test_common_words_are_found_however_many_are_misspelt(
    common: Vocabulary, query: str, suggestion: str
) -> None:
    assert common.suggest(query) == suggestion


@pytest.mark.parametrize(
    "query",
    [
        "reti neurali",  # mostly unknown, "redi" rare: another language, not a typo
        "grands modeles",  # "grand" is rare
        "intelligence artificielle",  # two edits from a rare word
        "O'Brien",  # names are not corrected ("brief")
        "Yann LeCunn",  # "Yang": a name beside a name
        "McDonald",
        "GRPO SFT",  # capitals: acronyms and names
    ],
)
def test_foreign_words_and_names_get_no_suggestion(common: Vocabulary, query: str) -> None:
    assert common.suggest(query) is None


def test_authors_names_are_not_corrected() -> None:
    vocabulary = Vocabulary.from_texts(["few models " * 5, "marten " * 5], ["Fei-Fei Li", "Maaten"])
    assert vocabulary.suggest("Fei-Fei Li") is None  # not "Few-Few Li"
    assert vocabulary.suggest("van der Maaten") is None
    assert vocabulary.suggest("fei models") == "few models"  # lower case: a word, not a name


def test_rare_words_are_not_the_vocabulary() -> None:
    vocabulary = Vocabulary.from_texts(["transfomer " * 2, "transformer " * 5])
    assert "transfomer" not in vocabulary and vocabulary.suggest("transfomer") == "transformer"


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    add_papers(
        engine,
        *(
            record(f"2506.{n + 1:05d}", "2025-06-17", title=t.split(".")[0], abstract=t)
            for n, t in enumerate(TEXTS)
        ),
    )
    spelling = Runtime().spelling(engine)
    spelling._background = False  # built at once for the test
    with TestClient(create_app(settings, spelling=spelling)) as client:
        yield client


def test_no_hits_are_retried_with_the_suggestion(client: TestClient) -> None:
    api = client.get("/api/papers/search", params={"q": "transfomer"})
    assert api.headers["X-Search-Suggestion"] == "transformer"
    assert api.headers["X-Search-Corrected"] == "1"
    assert {e["paper"]["id"] for e in api.json()} == {"2506.00001", "2506.00004"}
    page = client.get("/search", params={"q": "transfomer"}).text
    assert "No papers match “transfomer”; showing results for “" in page
    assert "2 results for “transformer”" in page
    feed = feedparser.parse(client.get("/feeds/search.atom", params={"q": "transfomer"}).text)
    assert len(feed.entries) == 2


def test_did_you_mean_beside_results(client: TestClient) -> None:
    # "attention" matches; "segmentaton" is misspelt: results for the words that match (any)
    api = client.get("/api/papers/search", params={"q": "attention segmentaton"})
    assert api.headers["X-Search-Suggestion"] == "attention segmentation"
    assert "X-Search-Corrected" not in api.headers and api.json()
    page = client.get("/search", params={"q": "attention segmentaton"}).text
    assert "Did you mean “" in page and "attention segmentation" in page


def test_other_languages_and_authors_get_no_suggestion(client: TestClient) -> None:
    for query in ("Wie backe ich einen Apfelkuchen", "Привет мир", "Ada Lovelace", "wetter"):
        api = client.get("/api/papers/search", params={"q": query})
        assert api.status_code == 200 and "X-Search-Suggestion" not in api.headers, query


def test_the_vocabulary_loads_in_the_background_and_survives_errors() -> None:
    def broken() -> Vocabulary:
        raise RuntimeError("database gone")

    assert Spelling(broken, background=False).suggest("transfomer") is None
    spelling = Spelling(lambda: Vocabulary.from_texts(TEXTS))
    for _ in range(500):
        if spelling.suggest("transfomer") == "transformer":
            break
        time.sleep(0.01)
    assert spelling.suggest("transfomer") == "transformer"


def test_the_papers_authors_names_are_left_as_typed(client: TestClient) -> None:
    # every paper here is by Ada Lovelace and Alan Turing: their names are read with the words
    api = client.get("/api/papers/search", params={"q": "Lovelace transfomer"})
    assert api.headers["X-Search-Suggestion"] == "Lovelace transformer"
