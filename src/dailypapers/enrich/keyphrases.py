"""Key phrases of a paper, extracted from its title and abstract and scored against the corpus.

Candidates are runs of one to four content words (split at stop words, punctuation, math and
links), such as "kv cache compression" or "gaussian splatting"; a run that ends in an adjective
("... robust") or starts with one of the generic words every abstract uses is cut back. Each
candidate scores by how often it occurs (a title occurrence counts three times) times the summed
inverse document frequency of its words in the corpus (:class:`PhraseStats`, built from a sample
of the database's abstracts), so a phrase specific to this paper beats one every paper has.
Phrases contained in a better one are dropped. Acronyms keep their case (``LLM``, ``KV``);
everything else is lower case. Extractive only: every phrase is words of the paper.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from dailypapers.enrich.words import STOP_WORDS, VERB_FORMS, tokens

MAX_WORDS = 4
TITLE_WEIGHT = 3
_MATH_OR_LINK = re.compile(r"\$[^$]*\$|https?://\S+|\\[a-zA-Z]+(?:\{[^}]*\})?")
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”]|\s[-–—]+\s")
_ADJECTIVE_END = ("ive", "ous", "ful", "able", "ible", "ic", "al", "ly", "ed", "ing")
_KEEP_ENDING = {
    "learning",
    "modeling",
    "modelling",
    "reasoning",
    "training",
    "encoding",
    "signal",
    "retrieval",
    "potential",
    "rendering",
    "graphic",
    "logic",
    "clinical",
    "editing",
    "embedding",
    "tracking",
    "planning",
    "ranking",
    "pruning",
    "sampling",
    "matching",
    "forecasting",
    "processing",
    "understanding",
    "computing",
    "fine-tuning",
    "scheduling",
    "clustering",
    "parsing",
    "imaging",
    "mapping",
    "captioning",
    "prompting",
    "scaling",
    "hashing",
    "filtering",
    "pooling",
    "routing",
    "labeling",
    "labelling",
    "question-answering",
}
_GENERIC = (
    STOP_WORDS
    | VERB_FORMS
    | {
        "model",
        "models",
        "data",
        "system",
        "systems",
        "use",
        "paper",
        "based",
        "propose",
        "analysis",
        "experiments",
        "extensive",
        "baselines",
        "benchmarks",
        "tasks",
        "way",
        "ways",
        "number",
        "set",
        "terms",
        "order",
        "impact",
        "ability",
        "abilities",
        "capabilities",
        "challenges",
        "limitations",
        "insights",
        "evaluation",
        "end",
        "art",
        "stage",
        "stages",
        "case",
        "recent",
        "advances",
        "advancements",
        "field",
        "domain",
        "domains",
    }
)


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return len(letters) >= 2 and upper >= 2 and upper * 2 >= len(letters)


def _chunks(text: str) -> Iterable[list[str]]:
    """Runs of content words between stop words and punctuation."""
    for piece in _BREAK.split(_MATH_OR_LINK.sub(" . ", text)):
        run: list[str] = []
        for word in tokens(piece):
            low = word.lower()
            if low in _GENERIC or len(word) < 2 or (len(word) < 3 and not _is_acronym(word)):
                if run:
                    yield run
                run = []
            else:
                run.append(word)
        if run:
            yield run


def _trimmed(run: list[str]) -> list[str]:
    """Drop a trailing adjective-looking word ("... robust", "... efficient")."""
    while run:
        last = run[-1].lower()
        if _is_acronym(run[-1]) or last in _KEEP_ENDING or not last.endswith(_ADJECTIVE_END):
            break
        run = run[:-1]
    return run


def candidates(text: str) -> Iterable[tuple[str, ...]]:
    """Every sub-run of 1..MAX_WORDS words of each trimmed run, as lower-case word tuples."""
    for run in _chunks(text):
        words = [w.lower() for w in _trimmed(run)]
        for size in range(1, min(MAX_WORDS, len(words)) + 1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if gram[-1].endswith(_ADJECTIVE_END) and gram[-1] not in _KEEP_ENDING:
                    if not any(_is_acronym(w) for w in run[start : start + size]):
                        continue
                yield tuple(gram)


@dataclass
class PhraseStats:
    """How many of ``documents`` abstracts contain each word (lower case)."""

    documents: int = 0
    df: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> PhraseStats:
        stats = cls()
        for text in texts:
            stats.documents += 1
            stats.df.update({w.lower() for w in tokens(text)})
        return stats

    def idf(self, word: str) -> float:
        return math.log((1 + self.documents) / (1 + self.df.get(word, 0))) + 1.0


def _display(words: tuple[str, ...], original: dict[str, str]) -> str:
    return " ".join(original.get(w, w) for w in words)


def key_phrases(title: str, abstract: str, stats: PhraseStats, limit: int = 5) -> list[str]:
    """Up to ``limit`` key phrases of the paper, best first."""
    counts: Counter[tuple[str, ...]] = Counter()
    for gram in candidates(title):
        counts[gram] += TITLE_WEIGHT
    for gram in candidates(abstract):
        counts[gram] += 1
    original = {w.lower(): w for w in tokens(f"{abstract} {title}") if _is_acronym(w)}
    scored = []
    for gram, count in counts.items():
        if count < 2 and (len(gram) == 1 or len(gram) > 2) and gram[0] not in original:
            continue  # said once: a lone word or a long run is rarely a key phrase
        weight = sum(stats.idf(w) for w in gram) / len(gram) * (1.0 + 0.5 * (len(gram) - 1))
        scored.append((math.log1p(count) * weight, gram))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[str, ...]] = []
    for _score, gram in scored:
        text = " ".join(gram)
        if any(text in " ".join(c) or " ".join(c) in text for c in chosen):
            continue  # a part of a chosen phrase, or a longer form of one
        chosen.append(gram)
        if len(chosen) == limit:
            break
    return [_display(gram, original) for gram in chosen]
