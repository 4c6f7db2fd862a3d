"""The TL;DR: the abstract's one sentence that best states the paper's contribution, chosen, never
written (it is shown as "TL;DR (extracted)").

Each sentence is scored on what marks a contribution in abstracts: a claim in the first person
("we propose", "this paper introduces", "here we show"), the paper's own name from its title
("RAS-Eval: ..."), words shared with the title; and against what marks the rest: background
("Recent ...", "However, existing ..."), numbers of results, links to code. Ties go to the earlier
sentence. Measured against a hand-labelled set in tests/test_keyphrases_tldr.py (see README).
"""

from __future__ import annotations

import re

from dailypapers.enrich.sentences import split_sentences
from dailypapers.enrich.words import content_words

_CLAIM = re.compile(
    r"\b(?:we|this (?:paper|work|study|article|letter|report|research|perspective)|"
    r"our (?:paper|work|study))\s+(?:\w+ly\s+)?(?:first\s+)?"
    r"(?:propose|introduce|present|develop|design|build|construct|establish|formulate|offer|"
    r"devise|release|create|contribute|extend|adapt|adopt|put forward|provide|describe|"
    r"proposes|introduces|presents|develops|designs|builds|establishes|offers|provides|"
    r"describes|demonstrates|explores|investigates|analyzes|analyses|examines|studies|"
    r"benchmarks|discusses|reports)\b",
    re.IGNORECASE,
)
_STUDY = re.compile(
    r"\b(?:we|this (?:paper|work|study|research))\s+(?:\w+ly\s+)?"
    r"(?:study|investigate|analy[sz]e|examine|explore|compare|conduct|identify|show|"
    r"demonstrate|find|apply|argue|prove|reveal|quantify|characteri[sz]e|unify|challenge)\b",
    re.IGNORECASE,
)
_FRAME = re.compile(
    r"^(?:in this (?:paper|work|study|article)|here|to (?:this end|address|bridge|"
    r"overcome|tackle|fill|mitigate|solve))\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(
    r"^(?:however|despite|recent(?:ly)?|existing|while|although|though|traditionally|"
    r"currently|many|most|prior|previous|with the|in recent|over the past|as)\b",
    re.IGNORECASE,
)
_RESULTS = re.compile(
    r"\b(?:experiments?|results?|outperforms?|achiev(?:es|ing)|evaluations?|empirical(?:ly)?|"
    r"state-of-the-art|sota)\b|\d+(?:\.\d+)?\s?%",
    re.IGNORECASE,
)
_LINK = re.compile(r"https?://|\bgithub\b|\bcode (?:is|and|will)|\bavailable at\b", re.IGNORECASE)
_NAME = re.compile(r"^\s*([^:]{2,40}?)\s*:")  # "RAS-Eval: A Comprehensive ..." -> RAS-Eval


def title_name(title: str) -> str | None:
    """The paper's short name when its title has one before a colon (``Part$^2$GS: ...``)."""
    found = _NAME.match(title)
    if found is None or len(found.group(1).split()) > 4:
        return None
    return found.group(1)


def score_sentence(sentence: str, index: int, title_words: set[str], name: str | None) -> float:
    score = 0.0
    if _CLAIM.search(sentence):
        score += 3.0
    elif _STUDY.search(sentence):
        score += 1.5
    if _FRAME.search(sentence):
        score += 1.0
    if name and name.lower() in sentence.lower():
        score += 1.5
    words = set(content_words(sentence))
    if title_words:
        score += 2.0 * len(words & title_words) / len(title_words)
    if _BACKGROUND.search(sentence):
        score -= 1.5
    if _RESULTS.search(sentence):
        score -= 1.0
    if _LINK.search(sentence):
        score -= 4.0
    length = len(sentence.split())
    if length < 8:
        score -= 2.0
    elif length > 70:
        score -= 1.0
    return score - 0.1 * index


def select_tldr(title: str, abstract: str) -> str:
    """The sentence of ``abstract`` that best states the contribution ("" for an empty one)."""
    sentences = split_sentences(abstract)
    if not sentences:
        return ""
    title_words = set(content_words(title))
    name = title_name(title)
    scores = [score_sentence(s, i, title_words, name) for i, s in enumerate(sentences)]
    best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
    return sentences[best]
