"""Safe rendering of untrusted arXiv text: escaping, LaTeX math to MathML, search-hit marks.

Math rendering lives in :mod:`dailypapers.rendering.math` (the services render comments with it)
and :func:`shorten` in :mod:`dailypapers.rendering.text` (the digests shorten abstracts with it);
both are re-exported here for the templates.
"""

from __future__ import annotations

from urllib.parse import quote

from markupsafe import Markup, escape

from dailypapers.rendering.math import (
    MATH_RE,
    MAX_MATH_LENGTH,
    UnsafeMathML,
    latex_to_mathml,
    render_math,
)
from dailypapers.rendering.plain import latex_to_text
from dailypapers.rendering.text import shorten
from dailypapers.search.fts import HIT_END, HIT_START

__all__ = [
    "MAX_MATH_LENGTH",
    "UnsafeMathML",
    "author_links",
    "author_url",
    "authors_short",
    "latex_to_mathml",
    "latex_to_text",
    "render_marks",
    "render_math",
    "shorten",
]


def _esc(text: str | None) -> str:
    return str(escape(text or ""))


def _marked(text: str) -> str:
    return _esc(text).replace(HIT_START, "<mark>").replace(HIT_END, "</mark>")


def _unmarked(text: str) -> str:
    return text.replace(HIT_START, "").replace(HIT_END, "")


def render_marks(marked: str) -> Markup:
    """Escape a marked title or snippet, turn its hit markers into <mark> elements and its
    ``$...$`` math into MathML (a formula holding a hit is marked as a whole)."""
    parts: list[str] = []
    position = 0
    for match in MATH_RE.finditer(marked):
        parts.append(_marked(marked[position : match.start()]))
        latex = _unmarked(match.group(1) or match.group(2)).strip()
        mathml = latex_to_mathml(latex, match.group(1) is not None)
        html = mathml if mathml is not None else _esc(_unmarked(match.group(0)))
        parts.append(f"<mark>{html}</mark>" if HIT_START in match.group(0) else html)
        position = match.end()
    parts.append(_marked(marked[position:]))
    return Markup("".join(parts))


def authors_short(authors: list[str], shown: int = 3) -> str:
    """ "A, B, C et al." style line: the first names, then how many there are in all."""
    if len(authors) <= shown + 1:
        return ", ".join(authors)
    return ", ".join(authors[:shown]) + f" … {len(authors)} authors"


def author_url(name: str) -> str:
    """The author page of a name as a paper writes it: ``/authors/<name, percent-encoded>``."""
    return "/authors/" + quote(name.strip(), safe="")


def author_links(
    authors: list[str], shown: int | None = 3, claimed: dict[int, int] | None = None
) -> Markup:
    """The authors as links to their pages; with ``shown``, like :func:`authors_short` (the
    first ``shown`` names, then how many there are in all). ``claimed``: author position -> the
    user id of an approved claim, marked with a link to that profile."""
    names = [str(a) for a in authors]
    cut = shown is not None and len(names) > shown + 1
    links = [
        (f'<a href="{_esc(author_url(n))}">{_esc(n)}</a>' if n.strip() else _esc(n))
        + _claim_mark((claimed or {}).get(i))
        for i, n in enumerate(names[:shown] if cut else names)
    ]
    tail = f" … {len(names)} authors" if cut else ""
    return Markup(", ".join(links) + tail)


def _claim_mark(user_id: int | None) -> str:
    if user_id is None:
        return ""
    return (
        f' <a class="claimed" href="/users/{int(user_id)}" title="Claimed by its author: profile"'
        ' aria-label="claimed author: profile">✓</a>'
    )


def stars(count: int) -> str:
    """A star count the way GitHub shows it: 950, 1.2k, 12k."""
    if count < 1000:
        return str(count)
    if count < 10_000:
        return f"{count / 1000:.1f}k".replace(".0k", "k")
    return f"{count // 1000}k"
