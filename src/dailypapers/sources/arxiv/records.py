"""The one normalised shape every source produces, and the normalisation they share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from dailypapers.sources.jsonl import dumps, loads

_URL_RE = re.compile(r"https?://[^\s<>\"'{}|\\^`\]]+", re.IGNORECASE)
_CODE_RE = re.compile(
    r"^https?://(?:www\.)?(?:github\.com|gitlab\.com)/[\w.-]+/[\w.-]+", re.IGNORECASE
)
_TRAILING = ".,;:)]}'\""
_NOT_PROJECT_RE = re.compile(r"arxiv\.org|doi\.org", re.IGNORECASE)
# arXiv archives, current and retired: a category is an archive or ``archive.SUBJECT``.
_ARCHIVES = frozenset(
    (
        "astro-ph cond-mat cs econ eess gr-qc hep-ex hep-lat hep-ph hep-th math math-ph nlin "
        "nucl-ex nucl-th physics q-bio q-fin quant-ph stat acc-phys adap-org alg-geom ao-sci "
        "atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas dg-ga funct-an mtrl-th patt-sol "
        "plasm-ph q-alg solv-int supr-con"
    ).split()
)
_SUBJECT_RE = re.compile(r"[A-Za-z][A-Za-z-]*\Z")
# ASCII whitespace other than space and newline (what str.split() also splits on).
_OTHER_ASCII_SPACE = ("\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


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
    # True when announced_on is inferred from the submission date rather than read from an
    # announcement (listing file or announcement feed); an exact date replaces an estimate.
    announce_estimated: bool = False

    @property
    def primary_category(self) -> str:
        return self.categories[0] if self.categories else ""


class FlatRow(NamedTuple):
    """A paper as one tuple of plain values, in the ``papers`` table's column order.

    It is what the bulk import sends between processes and writes, what the upsert reads back,
    compares and merges, and what SQLite stores as it is: the authors as JSON text, the categories
    as one space-separated string (primary first), dates as ISO text (which compare and sort like
    the dates). A new column is a field here (in the table's order) and a migration; the column
    list (:data:`FLAT_FIELDS`) and the SQL follow from this class.
    """

    arxiv_id: str
    version: int | None
    title: str
    abstract: str
    authors: str  # JSON text: a list of names
    categories: str  # space-separated, primary first
    primary_category: str
    published: str | None  # ISO dates, here and below
    updated: str | None  # flat_row: the announce date when unknown; a stored row may lack it
    announced_on: str
    comment: str | None
    journal_ref: str | None
    doi: str | None
    license: str | None
    code_url: str | None
    project_url: str | None
    announce_estimated: int  # 0 or 1


FLAT_FIELDS = FlatRow._fields


def flat_row(record: PaperRecord) -> FlatRow:
    """``record`` in the flat form; ``updated`` defaults to the announce date."""
    # Positional (mypy checks each field's type): keyword arguments make this half again as slow.
    return FlatRow(
        record.arxiv_id,
        record.version,
        record.title,
        record.abstract,
        dumps(record.authors),
        " ".join(record.categories),
        record.categories[0] if record.categories else "",
        record.published.isoformat() if record.published else None,
        (record.updated or record.announced_on).isoformat(),
        record.announced_on.isoformat(),
        record.comment,
        record.journal_ref,
        record.doi,
        record.license,
        record.code_url,
        record.project_url,
        int(record.announce_estimated),
    )


def paper_record(row: FlatRow) -> PaperRecord:
    """The record back from its flat row: ``paper_record(flat_row(r)) == r`` for a record with an
    ``updated`` date (without one it comes back with the announce date, as :func:`flat_row` wrote)."""
    return PaperRecord(
        arxiv_id=row.arxiv_id,
        version=row.version,
        title=row.title,
        abstract=row.abstract,
        authors=loads(row.authors),
        categories=row.categories.split(),
        announced_on=date.fromisoformat(row.announced_on),
        published=date.fromisoformat(row.published) if row.published else None,
        updated=date.fromisoformat(row.updated) if row.updated else None,
        comment=row.comment,
        journal_ref=row.journal_ref,
        doi=row.doi,
        license=row.license,
        code_url=row.code_url,
        project_url=row.project_url,
        announce_estimated=bool(row.announce_estimated),
    )


def parse_flat(parse: Callable[[bytes], PaperRecord], line: bytes) -> FlatRow:
    """``flat_row(parse(line))``: bind ``parse`` with :func:`functools.partial` for a parser that
    can run in another process."""
    return flat_row(parse(line))


@lru_cache(maxsize=4096)  # a small vocabulary, met again and again
def is_category(name: str) -> bool:
    """Is ``name`` an arXiv category (``cs.CL``, ``hep-th``, ``cond-mat.stat-mech``)?

    Listing files sometimes carry ACM or MSC classes (``I.2.7``, ``68T45 (Primary)``) among the
    categories; those are not arXiv categories.
    """
    archive, dot, subject = name.partition(".")
    return archive in _ARCHIVES and (not dot or _SUBJECT_RE.match(subject) is not None)


def clean_categories(names: list[str]) -> list[str]:
    """The arXiv categories among ``names``, stripped, in order, each once (primary first)."""
    return list(dict.fromkeys(n for n in (name.strip() for name in names) if is_category(n)))


def normalise_text(text: str | None) -> str:
    """Collapse arXiv's hard line breaks and runs of spaces; LaTeX is kept as written; NUL
    characters (a JSON line may hold ``\u0000``; PostgreSQL refuses them in text) are dropped.

    The result is exactly ``" ".join(text.replace("\x00", "").split())``; long ASCII text with only
    spaces and newlines (the usual arXiv abstract) takes a path about three times faster than
    splitting into words.
    """
    if not text:
        return ""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if len(text) > 200 and text.isascii():
        for other in _OTHER_ASCII_SPACE:
            if other in text:
                return " ".join(text.split())
        flat = text.strip().replace("\n", " ")
        while "  " in flat:
            flat = flat.replace("  ", " ")
        return flat
    return " ".join(text.split())


def optional_text(text: str | None) -> str | None:
    """Normalised text, or None for a missing or blank value."""
    cleaned = normalise_text(text)
    return cleaned or None


def _urls_in(text: str) -> list[str]:
    """Exactly ``_URL_RE.findall(text)``, several times faster on long text.

    Every match has ``://`` four or five characters after its start, so only those places are
    tried (in order, skipping any inside the previous match) instead of every character.
    """
    found: list[str] = []
    end = 0
    mark = text.find("://")
    while mark != -1:
        for start in (mark - 5, mark - 4):
            if start >= end:
                match = _URL_RE.match(text, start)
                if match:
                    found.append(match.group())
                    end = match.end()
                    break
        mark = text.find("://", max(mark + 3, end))
    return found


def find_urls(*texts: str | None) -> list[str]:
    """URLs in the given texts, in order, without trailing punctuation, deduplicated."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        for raw in _urls_in(text):
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
        elif project_url is None and not _NOT_PROJECT_RE.search(url):
            project_url = url
    return code_url, project_url
