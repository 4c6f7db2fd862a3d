"""Safe rendering of untrusted arXiv text: escaping, LaTeX math to MathML, search-hit marks.

Math rendering lives in :mod:`dailypapers.rendering.math` (the services render comments with it)
and :func:`shorten` in :mod:`dailypapers.rendering.text` (the digests shorten abstracts with it);
both are re-exported here for the templates.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from dailypapers.rendering.math import (
    MAX_MATH_LENGTH,
    UnsafeMathML,
    latex_to_mathml,
    render_math,
)
from dailypapers.rendering.text import shorten
from dailypapers.search.fts import HIT_END, HIT_START

__all__ = [
    "MAX_MATH_LENGTH",
    "UnsafeMathML",
    "authors_short",
    "latex_to_mathml",
    "render_marks",
    "render_math",
    "shorten",
]


def _esc(text: str | None) -> str:
    return str(escape(text or ""))


def render_marks(marked: str) -> Markup:
    """Escape an FTS snippet and turn its hit markers into <mark> elements."""
    escaped = _esc(marked)
    return Markup(escaped.replace(HIT_START, "<mark>").replace(HIT_END, "</mark>"))


def authors_short(authors: list[str], shown: int = 3) -> str:
    """ "A, B, C et al." style line: the first names, then how many there are in all."""
    if len(authors) <= shown + 1:
        return ", ".join(authors)
    return ", ".join(authors[:shown]) + f" … {len(authors)} authors"


def stars(count: int) -> str:
    """A star count the way GitHub shows it: 950, 1.2k, 12k."""
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count / 1000:.1f}k".replace(".0k", "k")
    return f"{count // 1000}k"
