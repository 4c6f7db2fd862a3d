"""Parse the arXiv export API's Atom feed (``https://export.arxiv.org/api/query``).

Each ``<entry>``: ``<id>http://arxiv.org/abs/2104.12255v1</id>`` (id and version), ``<published>``
(v1 time), ``<updated>`` (this version's time), ``<title>``, ``<summary>``, ``<author><name>``,
``<arxiv:primary_category term>`` then ``<category term>``, ``<arxiv:comment>``,
``<arxiv:journal_ref>``, ``<arxiv:doi>``. Paging comes from ``opensearch:totalResults``,
``startIndex`` and ``itemsPerPage``.

Two arXiv quirks are handled:

* A malformed query (``id_list=abc``) answers HTTP 400 with a feed whose single entry has the id
  ``https://arxiv.org/api/errors#...`` and the title ``Error``: :class:`ExportApiError` with the
  entry's summary as the message.
* An id that does not exist gives no entry, or (older responses) an empty placeholder entry without
  a title: that entry is dropped silently, as "not found", not reported as skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.arxiv.listing import MalformedRecord
from dailypapers.sources.arxiv.records import (
    PaperRecord,
    extract_links,
    normalise_text,
    optional_text,
)
from dailypapers.sources.arxiv.schedule import estimate_announce_date_at
from dailypapers.sources.arxiv.xml import (
    MalformedResponse,
    children_by_name,
    element_text,
    local_name,
    parse_document,
    parse_iso_datetime,
)

__all__ = ["ExportApiError", "ExportPage", "MalformedResponse", "parse_export_feed"]

ERROR_ID_MARK = "/api/errors"
# arXiv categories (cs.LG, hep-th, astro-ph.GA, q-bio.NC); the API also lists ACM and MSC classes
# (I.2.6, 68T05) as <category> terms, which are not categories.
_CATEGORY_RE = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?\Z")


class ExportApiError(Exception):
    """The export API refused the query (its HTTP 400 error feed); the message is arXiv's."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(f"arXiv API error: {message}")


@dataclass(slots=True)
class ExportPage:
    """One parsed page of export-API results."""

    records: list[PaperRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(entry id or "", reason)`` for entries that could not be read."""
    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None


def parse_export_feed(body: bytes) -> ExportPage:
    """Parse an export-API response body into records plus paging numbers.

    Raises :class:`ExportApiError` for arXiv's error feed and :class:`MalformedResponse` for a
    body that is not an Atom feed.
    """
    root = parse_document(body, ("feed",), "an arXiv API Atom feed")
    page = ExportPage()
    entries: list[ET.Element] = []
    for child in root:
        name = local_name(child.tag)
        if name == "entry":
            entries.append(child)
        elif name == "totalResults":
            page.total_results = _int_or_none(child.text)
        elif name == "startIndex":
            page.start_index = _int_or_none(child.text)
        elif name == "itemsPerPage":
            page.items_per_page = _int_or_none(child.text)
    for entry in entries:
        fields = children_by_name(entry)
        entry_id = normalise_text(element_text(fields.get("id")))
        if ERROR_ID_MARK in entry_id:
            message = normalise_text(element_text(fields.get("summary")))
            raise ExportApiError(message or normalise_text(element_text(fields.get("title"))))
    for entry in entries:
        fields = children_by_name(entry)
        entry_id = normalise_text(element_text(fields.get("id")))
        if not normalise_text(element_text(fields.get("title"))):
            continue  # arXiv's placeholder for an id it does not have
        try:
            page.records.append(_record(entry, fields, entry_id))
        except MalformedRecord as exc:
            page.skipped.append((entry_id, str(exc)))
    return page


def _record(entry: ET.Element, fields: dict[str, ET.Element], entry_id: str) -> PaperRecord:
    if not entry_id:
        raise MalformedRecord("missing <id>")
    try:
        arxiv_id, version = parse_arxiv_id(entry_id)
    except InvalidArxivId as exc:
        raise MalformedRecord(str(exc)) from None
    published = parse_iso_datetime(element_text(fields.get("published")))
    updated = parse_iso_datetime(element_text(fields.get("updated")))
    first = published or updated
    if first is None:
        raise MalformedRecord("missing or unreadable <published> date")
    abstract = normalise_text(element_text(fields.get("summary")))
    if not abstract:
        raise MalformedRecord("missing or empty <summary>")
    authors: list[str] = []
    categories: list[str] = []
    for child in entry:
        name = local_name(child.tag)
        if name == "author":
            author = normalise_text(element_text(children_by_name(child).get("name")))
            if author:
                authors.append(author)
        elif name in ("primary_category", "category"):
            term = (child.get("term") or "").strip()
            if not _CATEGORY_RE.match(term):
                continue
            if name == "primary_category":
                if term in categories:
                    categories.remove(term)
                categories.insert(0, term)
            elif term not in categories:
                categories.append(term)
    if not categories:
        raise MalformedRecord("no arXiv category")
    comment = optional_text(element_text(fields.get("comment")))
    code_url, project_url = extract_links(abstract, comment)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        announce_estimated=True,
        title=normalise_text(element_text(fields.get("title"))),
        abstract=abstract,
        authors=authors,
        categories=categories,
        announced_on=estimate_announce_date_at(first),
        published=first.date(),
        # Like the OAI formats: an updated date only when a later version exists.
        updated=updated.date() if updated is not None and updated != first else None,
        comment=comment,
        journal_ref=optional_text(element_text(fields.get("journal_ref"))),
        doi=optional_text(element_text(fields.get("doi"))),
        code_url=code_url,
        project_url=project_url,
    )


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None
