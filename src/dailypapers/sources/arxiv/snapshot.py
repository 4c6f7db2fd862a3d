"""Parse one line of the Kaggle/Cornell ``arxiv-metadata-oai-snapshot`` JSON-lines bulk file.

The snapshot has no announce date; a paper's place in the feed is the date its v1 was created
(arXiv announces the following business day, so this is within a day or so of the real one).
"""

from __future__ import annotations

from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from dailypapers.sources.arxiv.listing import (
    MalformedRecord,
    load_json_object,
    require_id,
    require_text,
)
from dailypapers.sources.arxiv.records import (
    FlatRow,
    PaperRecord,
    clean_categories,
    extract_links,
    normalise_text,
    optional_text,
    paper_record,
)
from dailypapers.sources.jsonl import dumps

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _created_date(text: str) -> date | None:
    """The calendar date of an RFC 2822 timestamp such as ``Mon, 2 Apr 2007 19:18:42 GMT``."""
    parts = text.split()
    # Fast path for the snapshot's one format; the date is the same in any zone the stamp names.
    if len(parts) == 6 and parts[2] in _MONTHS and parts[1].isdigit() and parts[3].isdigit():
        try:
            return date(int(parts[3]), _MONTHS[parts[2]], int(parts[1]))
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def _version_dates(versions: Any) -> tuple[int | None, date | None]:
    """(latest version number, creation date of v1) from the ``versions`` list."""
    if not isinstance(versions, list) or not versions:
        return None, None
    numbers: list[int] = []
    first: date | None = None
    for entry in versions:
        if not isinstance(entry, dict):
            continue
        label = entry.get("version", "")
        label = (label if type(label) is str else str(label)).lstrip("v")
        if label.isdigit():
            numbers.append(int(label))
        if label == "1" and isinstance(entry.get("created"), str):
            first = _created_date(entry["created"])
    return (max(numbers) if numbers else None), first


def _author_name(parts: list[Any]) -> str:
    """``[last, first, suffix]`` from ``authors_parsed`` as one display name: ``first last suffix``."""
    if (
        len(parts) == 3
        and type(parts[0]) is str
        and type(parts[1]) is str
        and type(parts[2]) is str
    ):
        last, first, suffix = parts
    else:
        last = str(parts[0])
        first = str(parts[1]) if len(parts) > 1 else ""
        suffix = str(parts[2]) if len(parts) > 2 else ""
    name = f"{first} {last}" if first and last else first or last
    return normalise_text(f"{name} {suffix}" if suffix else name)


def _authors(data: dict[str, Any]) -> list[str]:
    parsed = data.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if type(parts) is list and len(parts) == 3:  # the usual [last, first, suffix]
                last, first, suffix = parts
                if type(last) is str and type(first) is str and type(suffix) is str:
                    name = " ".join(f"{first} {last} {suffix}".split())
                    if name:
                        names.append(name)
                    continue
            if isinstance(parts, list) and parts:
                name = _author_name(parts)
                if name:
                    names.append(name)
        if names:
            return names
    raw = normalise_text(data.get("authors") if isinstance(data.get("authors"), str) else "")
    return [a.strip() for a in raw.replace(" and ", ", ").split(",") if a.strip()]


def _update_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            return date.fromisoformat(value)
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


def parse_snapshot_flat(line: str | bytes) -> FlatRow:
    """One snapshot line as a flat row (its announce date an estimate): what the bulk import parses
    with, the fields read once and written straight into the row."""
    data = load_json_object(line)
    arxiv_id, _ = require_id(data)
    version, published = _version_dates(data.get("versions"))
    updated = _update_date(data.get("update_date"))
    announced = published or updated
    if announced is None:
        raise MalformedRecord("no version dates and no 'update_date'")
    raw_categories = data.get("categories")
    categories = clean_categories(raw_categories.split()) if isinstance(raw_categories, str) else []
    if not categories:
        raise MalformedRecord("missing or empty 'categories'")
    abstract = normalise_text(require_text(data, "abstract"))
    comments = data.get("comments")
    comment = optional_text(comments) if isinstance(comments, str) else None
    code_url, project_url = extract_links(abstract, comment)
    title = normalise_text(require_text(data, "title"))
    # Positional, in the fields' order (mypy checks each one's type): keywords would cost ~6% more
    # of the parse (NamedTuple's __new__ matching 17 names).
    return FlatRow(
        arxiv_id,
        version,
        title,
        abstract,
        dumps(_authors(data)),
        " ".join(categories),
        categories[0],
        published.isoformat() if published else None,
        (updated or announced).isoformat(),
        announced.isoformat(),
        comment,
        _optional(data, "journal-ref"),
        _optional(data, "doi"),
        _optional(data, "license"),
        code_url,
        project_url,
        1,  # announce_estimated
    )


def parse_snapshot_line(line: str | bytes) -> PaperRecord:
    """One snapshot line as a :class:`PaperRecord`: ``paper_record(parse_snapshot_flat(line))``."""
    return paper_record(parse_snapshot_flat(line))


def _optional(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return optional_text(value) if isinstance(value, str) else None
