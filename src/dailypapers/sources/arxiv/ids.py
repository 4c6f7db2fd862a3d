"""arXiv identifiers: recognise new-style (``2503.11731v2``) and old-style (``hep-th/9901001``) ids,
bare or inside an arXiv URL, and split off the version."""

from __future__ import annotations

import re

_NEW = r"\d{4}\.\d{4,5}"
_OLD = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}"
_ID_RE = re.compile(rf"(?P<id>{_NEW}|{_OLD})(?:v(?P<version>\d+))?\Z", re.ASCII)
_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>.+?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)


class InvalidArxivId(ValueError):
    """Raised for a string that is not an arXiv id or arXiv URL."""


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Return ``(id_without_version, version_or_None)`` for an id, ``arXiv:`` id or arXiv URL."""
    match = _ID_RE.match(text)  # the common case: a bare id, as in every import file
    if match:
        version = match.group("version")
        return match.group("id"), int(version) if version else None
    candidate = text.strip()
    url = _URL_RE.match(candidate)
    if url:
        candidate = url.group("rest")
    if candidate.lower().startswith("arxiv:"):
        candidate = candidate[len("arxiv:") :]
    match = _ID_RE.match(candidate)
    if not match:
        raise InvalidArxivId(f"not an arXiv id: {text[:80]!r}")
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def is_arxiv_id(text: str) -> bool:
    """True when ``text`` is an arXiv id or arXiv URL (with or without version)."""
    try:
        parse_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True
