"""Sentences and words of an abstract: the units key phrases and the TL;DR are chosen from.

arXiv abstracts are plain text with hard line breaks, LaTeX math (``$...$``) and abbreviations
("e.g.", "et al.", "Fig. 2", "vs.", "3.5"); a full stop inside those does not end a sentence.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "e.g",
    "i.e",
    "et al",
    "etc",
    "vs",
    "fig",
    "figs",
    "eq",
    "eqs",
    "ref",
    "refs",
    "sec",
    "no",
    "approx",
    "cf",
    "resp",
    "al",
    "dr",
    "prof",
    "mr",
    "ms",
    "st",
    "tab",
    "viz",
    "ca",
}
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+\$", re.DOTALL)
_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9$\\])")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """One line, single spaces (arXiv's hard line breaks gone)."""
    return _SPACE.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order, each stripped; math is never cut."""
    text = clean(text)
    if not text:
        return []
    # hide math so a full stop inside it is not an end
    hidden: list[str] = []

    def hide(match: re.Match[str]) -> str:
        hidden.append(match.group(0))
        return f"\x00{len(hidden) - 1}\x00"

    masked = _MATH.sub(hide, text)
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(masked):
        candidate = masked[start : match.start()].rstrip()
        last_word = candidate.rsplit(" ", 1)[-1].rstrip(".").lower().lstrip("(")
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue  # "e.g. Foo", "et al. Show", "A. Turing"
        sentences.append(candidate)
        start = match.end()
    sentences.append(masked[start:].strip())
    return [
        re.sub(r"\x00(\d+)\x00", lambda m: hidden[int(m.group(1))], sentence)
        for sentence in sentences
        if sentence
    ]
