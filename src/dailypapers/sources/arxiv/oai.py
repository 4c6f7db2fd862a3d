"""Parse arXiv's OAI-PMH 2.0 ``ListRecords`` (and ``GetRecord``) responses.

Two metadata formats are understood, told apart by the element inside ``<metadata>``:

``arXiv``
    ``<id>``, ``<created>`` (v1 date), ``<updated>`` (latest version's date, absent for v1-only
    papers), ``<authors><author><keyname/><forenames/><suffix/></author>…``, ``<title>``,
    ``<categories>`` (space-separated, primary first), ``<comments>``, ``<journal-ref>``, ``<doi>``,
    ``<license>``, ``<abstract>``. No version number: :attr:`PaperRecord.version` is ``None``.
``arXivRaw``
    The same fields but ``<authors>`` is one string, and every version is listed as
    ``<version version="v2"><date>Mon, 2 Apr 2007 19:18:42 GMT</date>…</version>``: the record gets
    the highest version number, ``published`` from v1, ``updated`` from the latest version.

``announced_on`` is estimated from the v1 submission (see :mod:`.schedule`); the announcements feed
gives the real date when it is harvested too. Records whose header says ``status="deleted"`` are
listed in :attr:`OaiPage.deleted`; a record that cannot become a paper is listed in
:attr:`OaiPage.skipped` and the rest of the page is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from xml.etree import ElementTree as ET

from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.arxiv.listing import MalformedRecord
from dailypapers.sources.arxiv.records import (
    PaperRecord,
    extract_links,
    normalise_text,
    optional_text,
)
from dailypapers.sources.arxiv.schedule import estimate_announce_date, estimate_announce_date_at
from dailypapers.sources.arxiv.xml import (
    LOCAL_NAMES,
    MalformedResponse,
    children_by_name,
    collector_paused,
    element_text,
    find_child,
    local_name,
    parse_document,
    parse_iso_date,
    parse_iso_datetime,
    parse_rfc2822,
    split_author_string,
)

__all__ = [
    "MalformedResponse",
    "OaiError",
    "OaiPage",
    "parse_list_records",
    "record_matches",
    "set_for_category",
    "sets_for_categories",
]

OAI_ID_PREFIX = "oai:arXiv.org:"
NO_RECORDS_MATCH = "noRecordsMatch"

TOP_LEVEL_SETS = frozenset({"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"})
"""Archives that are OAI sets of their own (``set=cs``)."""

PHYSICS_ARCHIVES = frozenset(
    {
        "astro-ph",
        "cond-mat",
        "gr-qc",
        "hep-ex",
        "hep-lat",
        "hep-ph",
        "hep-th",
        "math-ph",
        "nlin",
        "nucl-ex",
        "nucl-th",
        "physics",
        "quant-ph",
    }
)
"""Archives harvested as ``set=physics:<archive>``."""

# Archives merged into others long ago; their papers sit in the set of the archive they joined.
_LEGACY_ARCHIVES = {
    "adap-org": "physics:nlin",
    "chao-dyn": "physics:nlin",
    "comp-gas": "physics:nlin",
    "patt-sol": "physics:nlin",
    "solv-int": "physics:nlin",
    "alg-geom": "math",
    "dg-ga": "math",
    "funct-an": "math",
    "q-alg": "math",
    "cmp-lg": "cs",
    "mtrl-th": "physics:cond-mat",
    "supr-con": "physics:cond-mat",
    "acc-phys": "physics:physics",
    "ao-sci": "physics:physics",
    "atom-ph": "physics:physics",
    "bayes-an": "physics:physics",
    "chem-ph": "physics:physics",
    "plasm-ph": "physics:physics",
}


class OaiError(Exception):
    """An OAI-PMH ``<error code="...">`` other than ``noRecordsMatch``.

    ``code`` is the protocol's code (``badResumptionToken``, ``badArgument``,
    ``cannotDisseminateFormat``, ``badVerb``, ...); ``message`` is the repository's text.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"OAI-PMH error {code}: {message}" if message else f"OAI-PMH error {code}")


@dataclass(slots=True)
class OaiPage:
    """One parsed ``ListRecords`` page."""

    records: list[PaperRecord] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    """arXiv ids (without version) of records whose header has ``status="deleted"``."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """``(arxiv id or OAI identifier or "", reason)`` for records that could not be read."""
    resumption_token: str | None = None
    """The token for the next page; ``None`` when absent or empty (the list is complete)."""
    complete_list_size: int | None = None
    cursor: int | None = None
    max_datestamp: date | None = None
    """The largest header datestamp on the page (deleted records included)."""
    response_date: datetime | None = None

    @property
    def is_last(self) -> bool:
        """True when no further page follows."""
        return self.resumption_token is None


def parse_list_records(body: bytes) -> OaiPage:
    """Parse an OAI-PMH ``ListRecords`` (or ``GetRecord``) response body.

    ``noRecordsMatch`` gives an empty page; any other OAI error raises :class:`OaiError`; a body
    that is not an OAI-PMH records response raises :class:`MalformedResponse`.
    """
    with collector_paused():
        return _parse_list_records(body)


def _parse_list_records(body: bytes) -> OaiPage:
    root = parse_document(body, ("OAI-PMH",), "an OAI-PMH response")
    page = OaiPage()
    container: ET.Element | None = None
    errors: list[tuple[str, str]] = []
    verbs: list[str] = []
    for child in root:
        name = local_name(child.tag)
        if name == "responseDate":
            page.response_date = parse_iso_datetime(child.text)
        elif name == "error":
            errors.append((child.get("code") or "unknown", normalise_text(element_text(child))))
        elif name in ("ListRecords", "GetRecord"):
            container = child
        elif name and name != "request":
            verbs.append(name)
    if errors:
        for code, message in errors:
            if code != NO_RECORDS_MATCH:
                raise OaiError(code, message)
        return page
    if container is None:
        got = f"<{verbs[0]}>" if verbs else "no result element"
        raise MalformedResponse(f"expected an OAI-PMH ListRecords response but it holds {got}")
    for child in container:
        name = local_name(child.tag)
        if name == "record":
            _add_record(page, child)
        elif name == "resumptionToken":
            page.resumption_token = (child.text or "").strip() or None
            page.complete_list_size = _int_or_none(child.get("completeListSize"))
            page.cursor = _int_or_none(child.get("cursor"))
    return page


def set_for_category(category: str) -> str:
    """The OAI setSpec that holds ``category`` (``cs.LG`` -> ``cs``, ``hep-th`` -> ``physics:hep-th``).

    A bare archive (``cs``, ``astro-ph``) maps the same way. Raises ``ValueError`` for an unknown
    archive.
    """
    archive = category.strip().split(".", 1)[0]
    if archive in TOP_LEVEL_SETS:
        return archive
    if archive in PHYSICS_ARCHIVES:
        return f"physics:{archive}"
    if archive in _LEGACY_ARCHIVES:
        return _LEGACY_ARCHIVES[archive]
    raise ValueError(f"not an arXiv category or archive: {category.strip()!r}")


def sets_for_categories(categories: Iterable[str]) -> list[str]:
    """The OAI sets to harvest for the configured categories, deduplicated, in first-seen order.

    ``["cs.LG", "cs.CL", "stat.ML", "hep-th", "math.CO", "astro-ph.GA"]`` ->
    ``["cs", "stat", "physics:hep-th", "math", "physics:astro-ph"]``. Blank entries are ignored;
    an unknown archive raises ``ValueError``.
    """
    sets: list[str] = []
    for category in categories:
        if not category or category.isspace():
            continue
        spec = set_for_category(category)
        if spec not in sets:
            sets.append(spec)
    return sets


def record_matches(record: PaperRecord, categories: Iterable[str]) -> bool:
    """True when one of the record's categories is configured.

    A configured entry matches a record category equal to it, or, when the entry is a bare
    archive (``cs``, ``astro-ph``, ``physics``), any category of that archive (``cs.LG``).
    OAI sets are whole archives, so a harvest of ``set=cs`` for ``cs.LG`` needs this filter.
    """
    wanted = [c.strip() for c in categories if c and not c.isspace()]
    for have in record.categories:
        for want in wanted:
            if have == want or ("." not in want and have.startswith(want + ".")):
                return True
    return False


def _add_record(page: OaiPage, record: ET.Element) -> None:
    parts = children_by_name(record)
    header = parts.get("header")
    if header is None:
        page.skipped.append(("", "record without a <header>"))
        return
    head = children_by_name(header)
    identifier = normalise_text(element_text(head.get("identifier")))
    stamp = parse_iso_date(element_text(head.get("datestamp")))
    if stamp is not None and (page.max_datestamp is None or stamp > page.max_datestamp):
        page.max_datestamp = stamp
    if header.get("status") == "deleted":
        header_id = _id_from_identifier(identifier)
        if header_id is None:
            page.skipped.append((identifier, "deleted record with an unreadable identifier"))
        else:
            page.deleted.append(header_id)
        return
    try:
        paper = _from_metadata(parts.get("metadata"), identifier)
    except MalformedRecord as exc:
        page.skipped.append((_id_from_identifier(identifier) or identifier, str(exc)))
        return
    page.records.append(paper)


def _from_metadata(metadata: ET.Element | None, identifier: str) -> PaperRecord:
    """The paper in ``<metadata>``; ``identifier`` is the header's, used when ``<id>`` is empty."""
    payload = next(iter(metadata), None) if metadata is not None else None
    if payload is None:
        raise MalformedRecord("record has no <metadata>")
    kind = local_name(payload.tag)
    if kind == "arXiv":
        return _from_arxiv(payload, identifier)
    if kind == "arXivRaw":
        return _from_arxiv_raw(payload, identifier)
    raise MalformedRecord(f"unsupported metadata format <{kind}>")


def _id_from_identifier(identifier: str) -> str | None:
    """``oai:arXiv.org:hep-th/9504118`` -> ``hep-th/9504118`` (``None`` when unreadable)."""
    value = identifier
    if value[: len(OAI_ID_PREFIX)].lower() == OAI_ID_PREFIX.lower():
        value = value[len(OAI_ID_PREFIX) :]
    try:
        return parse_arxiv_id(value)[0] if value else None
    except InvalidArxivId:
        return None


def _record_id(fields: dict[str, ET.Element], identifier: str) -> str:
    text = normalise_text(element_text(fields.get("id")))
    if not text:
        header_id = _id_from_identifier(identifier)
        if header_id is None:
            raise MalformedRecord("missing <id>")
        return header_id
    try:
        return parse_arxiv_id(text)[0]
    except InvalidArxivId as exc:
        raise MalformedRecord(str(exc)) from None


def _required(fields: dict[str, ET.Element], name: str) -> str:
    value = normalise_text(element_text(fields.get(name)))
    if not value:
        raise MalformedRecord(f"missing or empty <{name}>")
    return value


def _words(fields: dict[str, ET.Element], name: str) -> list[str]:
    """``_required(fields, name).split()``, without joining the words only to split them again."""
    words = (element_text(fields.get(name)) or "").split()
    if not words:
        raise MalformedRecord(f"missing or empty <{name}>")
    return words


def _optional(fields: dict[str, ET.Element], name: str) -> str | None:
    element = fields.get(name)
    return None if element is None else optional_text(_text(element))


def _arxiv_authors(authors: ET.Element | None) -> list[str]:
    """The display names of ``<authors>``, skipping any without a letter or digit."""
    if authors is None:
        return []
    names = []
    for author in authors:
        if LOCAL_NAMES[author.tag] == "author":
            name = _author_name(author)
            # Most names start with a letter: test that before scanning the whole name.
            if name and (name[0].isalnum() or any(ch.isalnum() for ch in name)):
                names.append(name)
    return names


def _author_name(author: ET.Element) -> str:
    """``<forenames> <keyname> <suffix>`` as one display name (affiliations are ignored).

    A repeated part counts once, the last one winning.
    """
    forenames = keyname = suffix = ""
    for part in author:
        name = LOCAL_NAMES[part.tag]
        if name == "keyname":
            keyname = _text(part)
        elif name == "forenames":
            forenames = _text(part)
        elif name == "suffix":
            suffix = _text(part)
    return " ".join(f"{forenames} {keyname} {suffix}".split())


def _text(element: ET.Element) -> str:
    """:func:`element_text` of an element known to be there (never ``None``)."""
    return element.text or "" if len(element) == 0 else "".join(element.itertext())


def _common(
    fields: dict[str, ET.Element],
    arxiv_id: str,
    authors: list[str],
    announced_on: date,
    published: date | None,
    updated: date | None,
    version: int | None,
) -> PaperRecord:
    title = _required(fields, "title")
    abstract = _required(fields, "abstract")
    categories = _words(fields, "categories")
    comment = _optional(fields, "comments")
    code_url, project_url = extract_links(abstract, comment)
    return PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        announce_estimated=True,  # from the submission date (see schedule.py)
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        announced_on=announced_on,
        published=published,
        updated=updated,
        comment=comment,
        journal_ref=_optional(fields, "journal-ref"),
        doi=_optional(fields, "doi"),
        license=_optional(fields, "license"),
        code_url=code_url,
        project_url=project_url,
    )


def _from_arxiv(metadata: ET.Element, identifier: str) -> PaperRecord:
    fields = children_by_name(metadata)
    arxiv_id = _record_id(fields, identifier)
    created = parse_iso_date(element_text(fields.get("created")))
    if created is None:
        raise MalformedRecord("missing or unreadable <created> date")
    return _common(
        fields,
        arxiv_id,
        authors=_arxiv_authors(fields.get("authors")),
        announced_on=estimate_announce_date(created),
        published=created,
        updated=parse_iso_date(element_text(fields.get("updated"))),
        version=None,
    )


def _from_arxiv_raw(metadata: ET.Element, identifier: str) -> PaperRecord:
    fields = children_by_name(metadata)
    arxiv_id = _record_id(fields, identifier)
    versions: dict[int, datetime] = {}
    for child in metadata:
        if local_name(child.tag) != "version":
            continue
        label = (child.get("version") or "").strip().lstrip("vV")
        when = parse_rfc2822(element_text(find_child(child, "date")))
        if label.isdigit() and when is not None:
            versions[int(label)] = when
    if not versions:
        raise MalformedRecord("no <version> with a readable number and date")
    latest = max(versions)
    first = versions[min(versions)]
    return _common(
        fields,
        arxiv_id,
        authors=split_author_string(element_text(fields.get("authors"))),
        announced_on=estimate_announce_date_at(first),
        published=first.date(),
        updated=versions[latest].date() if latest > min(versions) else None,
        version=latest,
    )


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
