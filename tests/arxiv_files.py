"""The arXiv response files in tests/data/arxiv and small helpers the parser tests share
(see tests/data/arxiv/README.md for which request each file answers)."""

from __future__ import annotations

import json
from pathlib import Path

from dailypapers.sources.arxiv.records import PaperRecord

DATA = Path(__file__).parent / "data" / "arxiv"
OAI = DATA / "oai-pmh"
HAND = OAI / "handwritten"
API = DATA / "arxiv-api"
RSS = DATA / "rss" / "handwritten" / "atom_cs.LG+cs.CL_2025-06-17_handwritten.xml"
PAGE = "ListRecords_arXiv_set-cs_from-2025-06-17_page{}_handwritten.xml"


def read(path: Path) -> bytes:
    return path.read_bytes()


def recorded(name: str) -> bytes:
    """The body of a recorded export-API exchange, as the bytes arXiv sent.

    The recorder stored the body decoded as ISO-8859-1 (the HTTP default for text/* without a
    charset), so encoding it back to ISO-8859-1 gives arXiv's UTF-8 bytes again.
    """
    exchange = json.loads((API / "recorded-2026" / name).read_text(encoding="utf-8"))
    body: str = exchange["body"]
    return body.encode("latin-1")


def paperhive() -> list[dict[str, object]]:
    path = OAI / "paperhive-2018" / "oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
    exchanges: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return exchanges


def by_id(records: list[PaperRecord]) -> dict[str, PaperRecord]:
    return {record.arxiv_id: record for record in records}


def one_sentence(message: str) -> bool:
    return "\n" not in message and 0 < len(message) < 300
