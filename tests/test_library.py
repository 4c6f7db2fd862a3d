"""Imported libraries: BibTeX, CSL-JSON and id lists parsed (broken entries skipped, never an
error page), matched to papers as For-you positives, unknown arXiv ids fetched in the background,
non-arXiv entries kept and shown, big and malformed uploads answered with one sentence."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import User
from dailypapers.db.signals import LibraryEntry, UserModel
from dailypapers.services.accounts import add_user
from dailypapers.services.arxiv_client import arxiv_session
from dailypapers.services.errors import Invalid
from dailypapers.services.library import import_library, library_counts, resolve_library
from dailypapers.services.signals import training_signals
from dailypapers.sources.library import LibraryError, parse_library
from tests.fake_arxiv import FakeArxiv
from tests.helpers import FakeClock, add_papers, count, post, record, sign_in_as

API = Path(__file__).parent / "data" / "arxiv" / "arxiv-api" / "recorded-2026"
BIB = r"""
@article{vaswani2017,
  title = {Attention Is {All} You Need},
  author = {Vaswani, Ashish and others},
  eprint = {1706.03762},
  archivePrefix = {arXiv},
}
@misc{ours, title = "Our {GNN} paper", url = {https://arxiv.org/abs/2506.00100v2}}
@inproceedings{nodoi, title = {A conference paper}, doi = {10.1145/123.456}}
@article{broken, title = {never closed
@article{after, title = {After the broken one}, journal = {arXiv:2506.00101}}
"""


def test_bibtex_entries_with_ids_urls_dois_and_a_broken_one() -> None:
    parsed = parse_library(BIB.encode(), "lib.bib")
    assert parsed.format == "bibtex"
    ids = [item.arxiv_id for item in parsed.items]
    assert ids == ["1706.03762", "2506.00100", None, "2506.00101"]
    assert parsed.items[2].doi == "10.1145/123.456" and parsed.problems  # the broken entry


def test_csl_json_of_non_arxiv_items_is_kept_unmatched_and_bad_json_is_one_sentence() -> None:
    items = [
        {"title": "A journal article", "DOI": "10.1000/xyz"},
        {"title": "An arXiv preprint", "URL": "https://arxiv.org/abs/2506.00100"},
        "not an object",
    ]
    parsed = parse_library(json.dumps(items).encode(), "export.json")
    assert [i.arxiv_id for i in parsed.items] == [None, "2506.00100"]
    with pytest.raises(LibraryError, match="cannot be read"):
        parse_library(b"[{", "broken.json")
    with pytest.raises(LibraryError, match="not text"):
        parse_library(b"\x00\x01\x02", "x.bib")


def test_a_list_of_ids_and_urls() -> None:
    text = "2506.00100\nhttps://arxiv.org/abs/2506.00101v3, hep-th/9901001\n# a comment\nnonsense"
    parsed = parse_library(text.encode())
    assert [i.arxiv_id for i in parsed.items] == [
        "2506.00100",
        "2506.00101",
        "hep-th/9901001",
        None,
    ]


def _setup(engine: Engine) -> int:
    add_papers(engine, *(record(f"2506.{100 + i:05d}", "2025-06-20") for i in range(3)))
    with Session(engine) as session, session.begin():
        return add_user(session, "lib@example.org").id


def test_import_matches_known_papers_keeps_the_rest_and_adds_nothing_twice(engine: Engine) -> None:
    user_id = _setup(engine)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        report = import_library(session, user, BIB.encode(), "lib.bib")
        assert (report.added["matched"], report.added["pending"], report.added["unmatched"]) == (
            2,
            1,
            1,
        )
        again = import_library(session, user, BIB.encode(), "lib.bib")
        assert sum(again.added.values()) == 0 and again.already == 4
        assert set(training_signals(session, user_id).positives) == set(
            session.scalars(select(LibraryEntry.paper_id).where(LibraryEntry.status == "matched"))
        )
        assert library_counts(session, user) == {"matched": 2, "pending": 1, "unmatched": 1}
        with pytest.raises(Invalid):
            import_library(session, user, b"\x00binary", "x.bib")
    with Session(engine) as session:
        row = session.get(UserModel, user_id)
        assert row is not None and row.signals_version > row.trained_version


def test_a_library_of_10000_entries(engine: Engine) -> None:
    user_id = _setup(engine)
    text = "\n".join(
        f"@misc{{k{i}, title={{Paper {i}}}, eprint={{2401.{i:05d}}}}}" for i in range(10_000)
    )
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        report = import_library(session, user, text.encode(), "big.bib")
    assert report.added["pending"] == 10_000
    assert time.perf_counter() - started < 30
    assert count(engine, LibraryEntry) == 10_000


def test_the_library_page(client: TestClient, engine: Engine) -> None:
    _setup(engine)
    sign_in_as(client, engine, "page@example.org")
    assert "Import your library" in client.get("/settings/library").text
    answer = post(client, "/settings/library", files={"file": ("lib.bib", BIB.encode())})
    assert answer.status_code == 200 and "2 matched" in answer.text
    assert "A conference paper" in answer.text  # unmatched: shown
    pasted = post(
        client, "/settings/library", {"ids": "2506.00102\nhttps://arxiv.org/abs/2506.00103"}
    )
    assert "1 matched, 1 pending" in pasted.text
    bad = post(client, "/settings/library", files={"file": ("x.json", b"[{broken")})
    assert bad.status_code == 400 and "cannot be read" in bad.text
    empty = post(client, "/settings/library", {"ids": "  "})
    assert empty.status_code == 400 and "Choose a file" in empty.text
    assert "Imported" in client.get("/settings/signals").text
    huge = b"@misc{x, title={" + b"a" * (20_000_001) + b"}}"
    too_big = post(client, "/settings/library", files={"file": ("huge.bib", huge)})
    assert too_big.status_code == 413
    assert post(client, "/settings/library/clear").status_code == 303
    assert count(engine, LibraryEntry) == 0


def test_a_malformed_bibtex_file_of_almost_20_mb(client: TestClient, engine: Engine) -> None:
    _setup(engine)
    sign_in_as(client, engine, "big@example.org")
    junk = (b"@article{x, title = {unclosed " + b"{" * 50 + b"\n") * 230_000  # ~18 MB
    started = time.perf_counter()
    answer = post(client, "/settings/library", files={"file": ("junk.bib", junk)})
    assert answer.status_code in (200, 400) and "Traceback" not in answer.text
    assert time.perf_counter() - started < 60


def test_unknown_arxiv_ids_are_fetched_like_submissions(
    engine: Engine, settings: Settings, fake: FakeArxiv
) -> None:
    exchange = json.loads((API / "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json").read_text())
    fake.add("/api/query", exchange["body"].encode("latin-1"))
    user_id = _setup(engine)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        import_library(session, user, b"1707.08567\n0808.05394\n2506.00100\n")
    arxiv = settings.model_copy(update={"arxiv_api_url": fake.url + "/api/query"})
    with arxiv_session(engine, arxiv, clock=FakeClock()) as client:
        assert resolve_library(engine, arxiv, client) == 2
        assert resolve_library(engine, arxiv, client) == 0
    with Session(engine) as session:
        states = dict(session.execute(select(LibraryEntry.arxiv_id, LibraryEntry.status)).all())
        assert states == {"1707.08567": "matched", "0808.05394": "missing", "2506.00100": "matched"}
        assert len(training_signals(session, user_id).positives) == 2
