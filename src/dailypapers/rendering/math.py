"""LaTeX math to safe MathML, for abstracts (web pages) and comments (services).

Each ``$...$`` / ``$$...$$`` span goes through latex2mathml; its output is parsed and rebuilt from a
whitelist of MathML elements and attributes (latex2mathml copies ``\\text{...}`` through as raw
markup, so its output is never trusted as is). Math that fails to convert or to pass the whitelist
is shown as its escaped source. It lives below ``services`` so comment rendering can use it without
importing the web layer.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from latex2mathml.converter import convert
from markupsafe import Markup, escape

MATH_RE = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$", re.DOTALL)
_MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"
MATHML_ELEMENTS = frozenset(
    "math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mstyle mover munder "
    "munderover mtable mtr mtd mpadded mphantom menclose mfenced merror mmultiscripts "
    "mprescripts none semantics".split()
)
MATHML_ATTRIBUTES = frozenset(
    "display mathvariant stretchy fence separator lspace rspace accent accentunder movablelimits "
    "largeop symmetric minsize maxsize width height depth linethickness columnalign rowalign "
    "rowspacing columnspacing displaystyle scriptlevel form notation open close separators "
    "columnlines rowlines frame align".split()
)
MAX_MATH_LENGTH = 500


class UnsafeMathML(ValueError):
    pass


def _esc(text: str | None) -> str:
    return str(escape(text or ""))


def _rebuild(element: ET.Element) -> str:
    tag = element.tag.removeprefix(_MATHML_NS)
    if tag not in MATHML_ELEMENTS:
        raise UnsafeMathML(tag)
    attrs = "".join(
        f' {name}="{_esc(value)}"'
        for name, value in element.attrib.items()
        if name in MATHML_ATTRIBUTES
    )
    if tag == "math":
        attrs = ' xmlns="http://www.w3.org/1998/Math/MathML"' + attrs
    inner = _esc(element.text) + "".join(_rebuild(child) + _esc(child.tail) for child in element)
    return f"<{tag}{attrs}>{inner}</{tag}>"


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str, display: bool = False) -> str | None:
    """Whitelisted MathML for a LaTeX formula, or None when it cannot be rendered safely."""
    if len(latex) > MAX_MATH_LENGTH:
        return None
    try:
        raw = convert(latex, display="block" if display else "inline")
        return _rebuild(ET.fromstring(raw))
    except Exception:  # noqa: BLE001 - any converter or parser failure means: show the source
        return None


def render_math(text: str) -> Markup:
    """Escape ``text`` and render its ``$...$`` spans as MathML.

    Feed pages render the same titles and abstracts on every request, so results are memoised;
    only for plain ``str``: a ``Markup`` argument is not escaped, and it compares equal to the
    same text as ``str``, so the two must never share a cache entry.
    """
    if type(text) is str:
        return _render_math_cached(text)
    return _render_math(text)


@lru_cache(maxsize=4096)
def _render_math_cached(text: str) -> Markup:
    return _render_math(text)


def _render_math(text: str) -> Markup:
    parts: list[str] = []
    position = 0
    for match in MATH_RE.finditer(text):
        parts.append(_esc(text[position : match.start()]))
        display = match.group(1) is not None
        mathml = latex_to_mathml((match.group(1) or match.group(2)).strip(), display)
        parts.append(mathml if mathml is not None else _esc(match.group(0)))
        position = match.end()
    parts.append(_esc(text[position:]))
    return Markup("".join(parts))
