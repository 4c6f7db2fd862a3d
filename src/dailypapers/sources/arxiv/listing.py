"""Parse one line of the ``arxiv-listings`` JSONL format (one announcement day per file).

Each line: ``id``, ``title``, ``authors`` (list), ``categories`` (list, primary first), ``comment``,
``summary``. The announce date is not in the line: it comes from the file name or the caller.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.arxiv.records import (
    PaperRecord,
    clean_categories,
    extract_links,
    normalise_text,
    optional_text,
)
from dailypapers.sources.jsonl import loads

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


class MalformedRecord(ValueError):
    """A line that cannot become a paper; the message says why."""


def date_from_filename(path: Path) -> date | None:
    """The ``YYYY-MM-DD`` announce date in a listing file's name, if there is one."""
    match = _DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def load_json_object(line: str | bytes) -> dict[str, Any]:
    """Decode one JSON-lines line that must hold an object."""
    try:
        data = loads(line)
    except ValueError as exc:
        raise MalformedRecord(f"invalid JSON ({exc})") from None
    if type(data) is not dict:
        raise MalformedRecord("expected a JSON object")
    return data


def require_text(data: dict[str, Any], key: str) -> str:
    """A non-empty string field, or :class:`MalformedRecord`."""
    value = data.get(key)
    if not isinstance(value, str) or not value or value.isspace():
        raise MalformedRecord(f"missing or empty {key!r}")
    return value


def require_id(data: dict[str, Any]) -> tuple[str, int | None]:
    """The record's arXiv id and version, or :class:`MalformedRecord`."""
    try:
        return parse_arxiv_id(require_text(data, "id"))
    except InvalidArxivId as exc:
        raise MalformedRecord(str(exc)) from None


def parse_listing_line(line: str | bytes, announced_on: date) -> PaperRecord:
    """Turn one listing line into a :class:`PaperRecord` announced on ``announced_on``."""
    data = load_json_object(line)
    arxiv_id, version = require_id(data)
    authors = data.get("authors") or []
    categories = data.get("categories") or []
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        raise MalformedRecord("'authors' must be a list of names")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise MalformedRecord("'categories' must be a list of strings")
    comment = data.get("comment")
    abstract = normalise_text(require_text(data, "summary"))
    comment_text = optional_text(comment if isinstance(comment, str) else None)
    code_url, project_url = extract_links(abstract, comment_text)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=normalise_text(require_text(data, "title")),
        abstract=abstract,
        authors=[name for name in map(normalise_text, authors) if name],
        categories=clean_categories(categories),
        announced_on=announced_on,
        comment=comment_text,
        code_url=code_url,
        project_url=project_url,
    )
