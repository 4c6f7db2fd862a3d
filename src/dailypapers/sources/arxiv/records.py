"""The one normalised shape every source produces, and the normalisation they share."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

_URL_RE = re.compile(r"https?://[^\s<>\"'{}|\\^`\]]+", re.IGNORECASE)
_CODE_RE = re.compile(
    r"^https?://(?:www\.)?(?:github\.com|gitlab\.com)/[\w.-]+/[\w.-]+", re.IGNORECASE
)
_TRAILING = ".,;:)]}'\""


@dataclass(slots=True)
class PaperRecord:
    """A paper as one source saw it, already normalised (see :func:`normalise_text`)."""

    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    announced_on: date
    version: int | None = None
    published: date | None = None
    updated: date | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    extra_urls: list[str] = field(default_factory=list)

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""


def normalise_text(text: str | None) -> str:
    """Collapse arXiv's hard line breaks and runs of spaces; LaTeX is kept as written."""
    return " ".join(text.split()) if text else ""


def optional_text(text: str | None) -> str | None:
    """Normalised text, or None for a missing or blank value."""
    cleaned = normalise_text(text)
    return cleaned or None


def find_urls(*texts: str | None) -> list[str]:
    """URLs in the given texts, in order, without trailing punctuation, deduplicated."""
    found: list[str] = []
    for text in texts:
        for raw in _URL_RE.findall(text or ""):
            url = raw.rstrip(_TRAILING)
            if url not in found:
                found.append(url)
    return found


def extract_links(*texts: str | None) -> tuple[str | None, str | None]:
    """Return ``(code_url, project_url)`` named in an abstract or comment.

    The code URL is the first GitHub/GitLab repository link (trimmed to ``owner/repo``); the project
    page is the first other link that is not an arXiv or DOI link.
    """
    code_url: str | None = None
    project_url: str | None = None
    for url in find_urls(*texts):
        code = _CODE_RE.match(url)
        if code:
            if code_url is None:
                code_url = code.group(0).removesuffix(".git").rstrip(".")
        elif project_url is None and not re.search(r"arxiv\.org|doi\.org", url, re.IGNORECASE):
            project_url = url
    return code_url, project_url
