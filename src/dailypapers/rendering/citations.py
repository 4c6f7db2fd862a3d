"""Papers as citations: BibTeX, RIS and CSL-JSON, the formats reference managers import.

Pure functions over :class:`Citable` values (built from a paper row by the caller), so exports of a
collection and of the "For you" list write the same entries. arXiv papers are written the way
Zotero and arXiv's own BibTeX write them: a preprint with ``eprint``/``archivePrefix`` (BibTeX),
``arXiv`` as publisher and ``arXiv:ID`` as number (CSL-JSON), the DOI when the paper has one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

CitationFormat = Literal["bibtex", "ris", "csl-json"]
FORMATS: dict[str, tuple[CitationFormat, str, str]] = {
    # name in URLs -> (format, media type, file extension)
    "bibtex": ("bibtex", "application/x-bibtex; charset=utf-8", "bib"),
    "ris": ("ris", "application/x-research-info-systems; charset=utf-8", "ris"),
    "csl-json": ("csl-json", "application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
}


@dataclass(frozen=True, slots=True)
class Citable:
    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    abstract: str
    announced_on: date
    primary_category: str
    categories: tuple[str, ...]
    doi: str | None = None
    journal_ref: str | None = None
    note: str = ""  # the user's note (collections)

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"


def write_citations(items: Sequence[Citable], fmt: CitationFormat) -> str:
    if fmt == "bibtex":
        return bibtex(items)
    if fmt == "ris":
        return ris(items)
    return csl_json(items)


# --- BibTeX ------------------------------------------------------------------------------------

_BIBTEX_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#"}


def _bibtex_text(text: str) -> str:
    """Text for a braced BibTeX value: one line, ``& % #`` escaped; braces kept only when they
    balance (arXiv titles carry LaTeX), else escaped so the entry still parses."""
    text = " ".join(text.split())
    text = re.sub(r"(?<!\\)[&%#]", lambda m: _BIBTEX_SPECIAL[m.group(0)], text)
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        text = re.sub(r"(?<!\\)([{}])", r"\\\1", text)
    return text.replace("\\", "\\\\") if text.endswith("\\") else text


def _bibtex_name(name: str) -> str:
    name = " ".join(name.split())
    if "," in name or re.search(r"\band\b", name, re.IGNORECASE):
        return "{" + _bibtex_text(name) + "}"
    return _bibtex_text(name)


def _ascii_word(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", plain).lower()


def cite_key(item: Citable) -> str:
    """``lovelace2025attention``: first author's family name, year, first long title word."""
    family = _ascii_word(item.authors[0].split()[-1]) if item.authors else ""
    words = [_ascii_word(w) for w in re.findall(r"[^\W\d_]{4,}", item.title)]
    first = next((w for w in words if w and w not in _SMALL_WORDS), "")
    return f"{family or 'arxiv'}{item.announced_on.year}{first}"


_SMALL_WORDS = {"with", "from", "into", "over", "when", "what", "where", "towards", "toward"}


def bibtex(items: Sequence[Citable]) -> str:
    seen: dict[str, int] = {}
    entries = []
    for item in items:
        key = cite_key(item)
        count = seen.get(key, 0)
        seen[key] = count + 1
        if count:
            key += _suffix(count)
        fields = [
            ("title", _bibtex_text(item.title)),
            ("author", " and ".join(_bibtex_name(a) for a in item.authors)),
            ("year", str(item.announced_on.year)),
            ("eprint", item.arxiv_id),
            ("archivePrefix", "arXiv"),
            ("primaryClass", item.primary_category),
            ("url", item.url),
        ]
        if item.doi:
            fields.append(("doi", _bibtex_text(item.doi)))
        if item.journal_ref:
            fields.append(("journal", _bibtex_text(item.journal_ref)))
        if item.note:
            fields.append(("note", _bibtex_text(item.note)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        entries.append(f"@misc{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def _suffix(count: int) -> str:
    """b, c, ..., z, then ba, bb... for the second and later entries with one key."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        text = letters[count % 26] + text
        count //= 26
        if count == 0:
            return text


# --- RIS ---------------------------------------------------------------------------------------


def _ris_name(name: str) -> str:
    """``Family, Given`` (RIS's form) from ``Given Family``; a one-word name as it is."""
    parts = name.split()
    if len(parts) < 2 or "," in name:
        return " ".join(parts)
    return f"{parts[-1]}, {' '.join(parts[:-1])}"


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(value.split())}"


def ris(items: Iterable[Citable]) -> str:
    records = []
    for item in items:
        lines = [_ris_line("TY", "UNPB" if not item.journal_ref else "JOUR")]
        lines.append(_ris_line("TI", item.title))
        lines += [_ris_line("AU", _ris_name(a)) for a in item.authors]
        lines.append(_ris_line("PY", str(item.announced_on.year)))
        lines.append(_ris_line("DA", item.announced_on.strftime("%Y/%m/%d")))
        if item.abstract:
            lines.append(_ris_line("AB", item.abstract))
        if item.journal_ref:
            lines.append(_ris_line("JO", item.journal_ref))
        lines.append(_ris_line("UR", item.url))
        if item.doi:
            lines.append(_ris_line("DO", item.doi))
        lines.append(_ris_line("PB", "arXiv"))
        lines.append(_ris_line("M1", f"arXiv:{item.arxiv_id}"))
        lines += [_ris_line("KW", c) for c in item.categories]
        if item.note:
            lines.append(_ris_line("N1", item.note))
        lines.append("ER  - ")
        records.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(records)


# --- CSL-JSON ----------------------------------------------------------------------------------


def _csl_name(name: str) -> dict[str, str]:
    parts = name.split()
    if len(parts) < 2:
        return {"literal": " ".join(parts)}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}


def csl_json(items: Iterable[Citable]) -> str:
    data = []
    for item in items:
        entry: dict[str, object] = {
            "id": f"arXiv:{item.arxiv_id}",
            "type": "article",  # CSL's type for preprints and working papers
            "title": " ".join(item.title.split()),
            "author": [_csl_name(a) for a in item.authors],
            "issued": {
                "date-parts": [
                    [item.announced_on.year, item.announced_on.month, item.announced_on.day]
                ]
            },
            "abstract": " ".join(item.abstract.split()),
            "publisher": "arXiv",
            "number": f"arXiv:{item.arxiv_id}",
            "URL": item.url,
            "keyword": ", ".join(item.categories),
        }
        if item.doi:
            entry["DOI"] = item.doi
        if item.journal_ref:
            entry["container-title"] = item.journal_ref
        if item.note:
            entry["note"] = item.note
        data.append(entry)
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
