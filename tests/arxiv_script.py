"""The scripted arXiv of the harvest and job tests: which recorded or hand-written response
answers which request (see tests/data/arxiv/README.md), and what a full harvest should store."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select

from dailypapers.db.models import Paper
from tests.fake_arxiv import FakeArxiv

DATA = Path(__file__).parent / "data" / "arxiv"
OAI = DATA / "oai-pmh" / "handwritten"
PAGE = {
    i: (OAI / f"ListRecords_arXiv_set-cs_from-2025-06-17_page{i}_handwritten.xml").read_bytes()
    for i in range(1, 5)
}
TOKENS = {2: "8311205|4", 3: "8311205|7", 4: "8311205|10"}
RSS = (DATA / "rss" / "handwritten" / "atom_cs.LG+cs.CL_2025-06-17_handwritten.xml").read_bytes()
START = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs", "from": "2025-06-17"}
# the nine cs.LG / cs.CL papers on the four pages (2506.14583 is cs.CV; 2506.11068 is a deletion)
HARVESTED = {
    "2506.12613", "2506.13596", "2506.12039", "2506.12823", "2506.12556",
    "2506.14040", "2506.14046", "2506.14793", "2506.15566",
}  # fmt: skip
ANNOUNCED = {"2506.12613", "2506.12541", "2506.13458"}  # new and cross entries of the feed


def recorded_api(name: str) -> tuple[int, bytes]:
    exchange = json.loads((DATA / "arxiv-api" / "recorded-2026" / name).read_text())
    return int(exchange["status_code"]), exchange["body"].encode("latin-1")


def serve_rss(fake: FakeArxiv, body: bytes = RSS, **options: object) -> None:
    headers = {"Content-Type": "application/atom+xml"}
    fake.add("/rss/cs.LG+cs.CL", body, headers=headers, **options)


def serve_pages(fake: FakeArxiv, *, skip: int | None = None, **options: object) -> None:
    """The four pages; ``options`` (``delay_s``, ``before``...) for every page's route."""
    fake.add("/oai", PAGE[1], params=START, **options)
    for number, token in TOKENS.items():
        if number != skip:
            params = {"verb": "ListRecords", "resumptionToken": token}
            fake.add("/oai", PAGE[number], params=params, **options)


def arxiv_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Paper.arxiv_id).order_by(Paper.arxiv_id)))
