"""Whether arXiv's record says a paper was withdrawn.

arXiv withdraws a paper by announcing a new version whose comments field says so ("This paper has
been withdrawn by the authors", "Withdrawn: ...", "We have withdrawn this manuscript due to ...");
that version keeps the old metadata otherwise. The comment of the newest version we hold is what
is checked; a paper that only *mentions* withdrawal in passing ("withdrawal of ...") is not.
"""

from __future__ import annotations

import re

_WITHDRAWN = re.compile(
    r"^\s*withdrawn\b|"
    r"\b(?:has|have|had|was|were|is|are|been|being)\s+(?:been\s+)?withdrawn\b|"
    r"\b(?:we|authors?)\s+(?:have\s+|hereby\s+|would like to\s+|want to\s+|wish to\s+)?"
    r"withdr[ae]w(?:n)?\s+(?:this|the|our)\s+(?:paper|manuscript|submission|article|preprint|work)\b|"
    r"\bwithdrawn by (?:the )?(?:authors?|arxiv)",
    re.IGNORECASE,
)


def is_withdrawn(comment: str | None) -> bool:
    """True when the comments field announces the paper's withdrawal."""
    return bool(comment) and _WITHDRAWN.search(" ".join((comment or "").split())) is not None
