"""Plain-text helpers shared by the web pages and the digest mails."""

from __future__ import annotations


def shorten(text: str, limit: int = 300) -> str:
    """The first ``limit`` characters of ``text``, cut at a word and never inside a math span."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    if cut.count("$") % 2:
        cut = cut[: cut.rfind("$")].rstrip()
    return cut + " …"
