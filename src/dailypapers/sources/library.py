"""Reading a user's library: a BibTeX file (Zotero's, JabRef's, Google Scholar's...), a CSL-JSON
export (Zotero's "Export Collection…" → CSL JSON) or a plain list of arXiv ids / URLs.

Pure functions: bytes in, :class:`LibraryItem` values out. An entry names an arXiv paper when one
of its fields holds an arXiv id (``eprint``, ``arxiv``, an arxiv.org URL, a ``10.48550/arXiv.``
DOI, ``arXiv:2506.00001`` in a journal or note field); every other entry is kept with its title
and DOI, so the user sees what could not be matched. Malformed input never raises: a broken
entry is skipped and counted, and parsing goes on with the next one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id

LibraryFormat = Literal["bibtex", "csl-json", "ids"]
MAX_ENTRIES = 20_000  # a library bigger than this is cut (and the report says so)
MAX_TITLE = 500

# An arXiv id where it appears in free text (a field, a URL, a DOI): new style or old style.
_ID_IN_TEXT = re.compile(
    r"(?<![\w.])(?:arxiv[:\s/.]*)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)(?![\w])",
    re.IGNORECASE,
)
_ARXIV_HINT = re.compile(r"arxiv", re.IGNORECASE)
_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One entry: its arXiv id (without version) when it names one, else what identifies it."""

    arxiv_id: str | None
    title: str = ""
    doi: str | None = None

    @property
    def key(self) -> str:
        """The entry's identity in a library: importing the same item twice adds it once."""
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}"
        if self.doi:
            return f"doi:{self.doi.lower()}"[:300]
        return "title:" + " ".join(re.findall(r"\w+", self.title.lower()))[:290]


@dataclass
class ParsedLibrary:
    format: LibraryFormat
    items: list[LibraryItem] = field(default_factory=list)
    skipped: int = 0  # entries that could not be read at all
    truncated: bool = False  # more than MAX_ENTRIES entries: the rest were left out
    problems: list[str] = field(default_factory=list)  # the first few reasons, for the user


class LibraryError(ValueError):
    """The file as a whole cannot be read (not text, not any of the formats); one sentence."""


def parse_library(data: bytes, filename: str = "") -> ParsedLibrary:
    """Read a library in whichever of the three formats ``data`` is (the file name helps)."""
    text = _decode(data)
    kind = detect_format(text, filename)
    if kind == "csl-json":
        parsed = _parse_csl_json(text)
    elif kind == "bibtex":
        parsed = _parse_bibtex(text)
    else:
        parsed = _parse_ids(text)
    if len(parsed.items) > MAX_ENTRIES:
        parsed.items = parsed.items[:MAX_ENTRIES]
        parsed.truncated = True
    return parsed


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise LibraryError(
            "this file is not text: upload a .bib, a CSL-JSON .json or a list of ids"
        )
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LibraryError("this file is not text")  # pragma: no cover - latin-1 decodes anything


def detect_format(text: str, filename: str = "") -> LibraryFormat:
    name = filename.lower()
    start = text.lstrip()[:1]
    if name.endswith(".json") or start in ("[", "{"):
        return "csl-json"
    if name.endswith((".bib", ".bibtex")) or re.search(r"@\s*[A-Za-z]+\s*[{(]", text):
        return "bibtex"
    return "ids"


# --- arXiv ids in free text ------------------------------------------------------------------


def arxiv_id_in(*texts: str | None) -> str | None:
    """The first arXiv id named in these strings (a bare id, ``arXiv:ID``, a URL or a DOI)."""
    for text in texts:
        if not text:
            continue
        for match in _ID_IN_TEXT.finditer(text):
            found = _bare(match.group(1))
            # an old-style id is only taken where arXiv is named (``math/0101001`` could be a path)
            if found and ("/" not in found or _ARXIV_HINT.search(text)):
                return found
    return None


def _bare(text: str) -> str | None:
    try:
        return parse_arxiv_id(text)[0]
    except InvalidArxivId:
        return None


def _clean_title(text: str) -> str:
    text = re.sub(r"[{}]", "", text)
    return " ".join(text.split())[:MAX_TITLE]


def _doi(text: str | None) -> str | None:
    if not text:
        return None
    match = _DOI.search(text)
    return match.group(1).rstrip(".,;}")[:255] if match else None


# --- BibTeX ------------------------------------------------------------------------------------

_ENTRY_START = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_FIELD = re.compile(r"\s*([A-Za-z][\w:.+-]*)\s*=\s*", re.ASCII)
ARXIV_FIELDS = ("eprint", "arxivid", "arxiv", "archiveprefix", "url", "doi", "journal")
TEXT_FIELDS = ("number", "note", "howpublished", "booktitle", "publisher", "annote", "pages")


def _parse_bibtex(text: str) -> ParsedLibrary:
    parsed = ParsedLibrary("bibtex")
    for kind, body in _bibtex_entries(text, parsed):
        if kind in ("comment", "preamble", "string"):
            continue
        fields = _bibtex_fields(body)
        if fields is None:
            _problem(parsed, f"an @{kind} entry could not be read")
            continue
        title = _clean_title(fields.get("title", ""))
        arxiv_id = None
        eprint_type = (fields.get("archiveprefix") or fields.get("eprinttype") or "").lower()
        if fields.get("eprint") and eprint_type in ("", "arxiv"):
            arxiv_id = _bare(fields["eprint"].strip())
        if arxiv_id is None:
            values = [fields.get(name) for name in ARXIV_FIELDS + TEXT_FIELDS]
            arxiv_id = arxiv_id_in(*values)
        if not (arxiv_id or title or fields.get("doi")):
            _problem(parsed, f"an @{kind} entry has no title, DOI or arXiv id")
            continue
        parsed.items.append(LibraryItem(arxiv_id, title, _doi(fields.get("doi"))))
    return parsed


def _bibtex_entries(text: str, parsed: ParsedLibrary) -> Iterator[tuple[str, str]]:
    """(entry type, body) of each entry; an entry whose braces never close is skipped."""
    position = 0
    while len(parsed.items) <= MAX_ENTRIES:
        match = _ENTRY_START.search(text, position)
        if match is None:
            return
        close = "}" if match.group(2) == "{" else ")"
        end = _matching(text, match.end(), match.group(2), close)
        if end is None:
            _problem(parsed, f"an @{match.group(1)} entry is not closed")
            position = match.end()  # look for the next entry inside the broken one
            continue
        yield match.group(1).lower(), text[match.end() : end]
        position = end + 1


def _matching(text: str, start: int, opening: str, close: str) -> int | None:
    """Index of the bracket closing the one opened just before ``start`` (braces nest; a new
    ``@type{`` at the start of a line while unbalanced means this entry is broken)."""
    depth = 1
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{" or (opening == "(" and char == "("):
            depth += 1
        elif char == "}" or (opening == "(" and char == ")"):
            depth -= 1
            if depth == 0:
                return index if char == close else None
        elif (
            char == "@"
            and (index == 0 or text[index - 1] == "\n")
            and _ENTRY_START.match(text, index)
        ):
            return None
        index += 1
    return None


def _bibtex_fields(body: str) -> dict[str, str] | None:
    """``name = value`` pairs after the cite key; values in braces, quotes or bare words (``#``
    concatenation kept as text). None when the body is not fields at all."""
    comma = body.find(",")
    if comma < 0:
        return {} if body.strip() else None
    fields: dict[str, str] = {}
    position = comma + 1
    while position < len(body):
        match = _FIELD.match(body, position)
        if match is None:
            rest = body[position:].strip().strip(",")
            return fields if not rest or fields else None
        name = match.group(1).lower()
        value, position = _bibtex_value(body, match.end())
        if value is None:
            return fields or None
        fields.setdefault(name, value)
        while position < len(body) and body[position] in " \t\r\n,":
            position += 1
    return fields


def _bibtex_value(body: str, position: int) -> tuple[str | None, int]:
    parts: list[str] = []
    while position < len(body):
        char = body[position]
        if char == "{":
            end = _matching(body, position + 1, "{", "}")
            if end is None:
                return None, len(body)
            parts.append(body[position + 1 : end])
            position = end + 1
        elif char == '"':
            end = position + 1
            depth = 0
            while end < len(body) and not (body[end] == '"' and depth == 0):
                depth += {"{": 1, "}": -1}.get(body[end], 0)
                end += 1
            if end >= len(body):
                return None, len(body)
            parts.append(body[position + 1 : end])
            position = end + 1
        else:
            word = re.match(r"[^,#}\s]+", body[position:])
            if word is None:
                return None, len(body)
            parts.append(word.group(0))
            position += word.end()
        while position < len(body) and body[position] in " \t\r\n":
            position += 1
        if position < len(body) and body[position] == "#":
            position += 1
            while position < len(body) and body[position] in " \t\r\n":
                position += 1
            continue
        break
    return "".join(parts), position


# --- CSL-JSON --------------------------------------------------------------------------------

CSL_FIELDS = ("URL", "DOI", "number", "archive_location", "note", "container-title", "id", "source")


def _parse_csl_json(text: str) -> ParsedLibrary:
    parsed = ParsedLibrary("csl-json")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise LibraryError(f"this JSON file cannot be read ({message})") from None
    if isinstance(data, dict):
        data = data.get("items", [data])
    if not isinstance(data, list):
        raise LibraryError("a CSL-JSON file is a list of items")
    for item in data[: MAX_ENTRIES + 1]:
        if not isinstance(item, dict):
            _problem(parsed, "an item of the list is not an object")
            continue
        title = _clean_title(_text(item.get("title")))
        values = [_text(item.get(name)) for name in CSL_FIELDS]
        arxiv_id = arxiv_id_in(*values) if any(_ARXIV_HINT.search(v) for v in values) else None
        doi = _doi(_text(item.get("DOI")))
        if not (arxiv_id or title or doi):
            _problem(parsed, "an item has no title, DOI or arXiv id")
            continue
        parsed.items.append(LibraryItem(arxiv_id, title, doi))
    return parsed


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return " ".join(_text(v) for v in value[:20])
    return ""


# --- a list of ids ----------------------------------------------------------------------------


def _parse_ids(text: str) -> ParsedLibrary:
    """One id or URL per line (or separated by spaces or commas); anything else is unmatched."""
    parsed = ParsedLibrary("ids")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for word in re.split(r"[\s,;]+", line):
            if not word:
                continue
            found = _bare(word)
            if found is None and _ARXIV_HINT.search(word):
                found = arxiv_id_in(word)
            parsed.items.append(LibraryItem(found, "" if found else word[:MAX_TITLE]))
            if len(parsed.items) > MAX_ENTRIES:
                return parsed
    return parsed


def _problem(parsed: ParsedLibrary, reason: str) -> None:
    parsed.skipped += 1
    if len(parsed.problems) < 5:
        parsed.problems.append(reason)
