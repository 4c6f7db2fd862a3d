"""An OAI-PMH page and its checkpoint are one transaction: a fault or a SIGKILL between any two of a
page's writes (papers, deletions, checkpoint) leaves the database exactly as the previous page left
it, and the next run resumes at that page, so no page is skipped or half-applied.

The faults come from tests/harvest_faults.py: on page 2 of the four scripted pages, one of the
three writes happens and then the fault strikes. Splitting the page into two commits (in either
order) puts one of the three points between commits, and the state check fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dailypapers.config import Settings
from dailypapers.db.models import Paper
from dailypapers.services.arxiv_client import LEASE_S
from dailypapers.services.harvest import checkpoint, daily_ingest
from dailypapers.sources.arxiv.oai import parse_list_records, record_matches
from tests import harvest_faults
from tests.arxiv_script import ANNOUNCED, HARVESTED, PAGE, TOKENS, arxiv_ids, serve_pages, serve_rss
from tests.fake_arxiv import FakeArxiv
from tests.helpers import FakeClock, add_papers, record

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ["cs.LG", "cs.CL"]


def page_ids(number: int) -> set[str]:
    page = parse_list_records(PAGE[number])
    return {r.arxiv_id for r in page.records if record_matches(r, CATEGORIES)}


@pytest.fixture
def arxiv_settings(settings: Settings, fake: FakeArxiv, engine: Engine) -> Settings:
    serve_rss(fake)
    serve_pages(fake)
    # page 2 deletes this paper: a deletion that took effect shows
    add_papers(engine, record(harvest_faults.PAGE2_DELETION, "2025-06-16", categories=["cs.CL"]))
    return settings.model_copy(
        update={
            "arxiv_oai_url": fake.url + "/oai",
            "arxiv_rss_url": fake.url + "/rss",
            "categories": " ".join(CATEGORIES),
            "arxiv_max_retries": 1,
            "arxiv_delay_s": 0,
        }
    )


def deleted(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(Paper.arxiv_id).where(Paper.deleted_at.is_not(None))))


def assert_as_page_one_left_it(engine: Engine) -> None:
    """Page 1 complete, nothing of page 2: its papers, its deletion and its checkpoint absent."""
    assert set(arxiv_ids(engine)) == ANNOUNCED | page_ids(1) | {harvest_faults.PAGE2_DELETION}
    assert deleted(engine) == set()
    state = checkpoint(engine, "oai:cs")
    assert state is not None
    assert (state.resumption_token, state.pages) == (TOKENS[2], 1)  # resume at page 2


def assert_resumes_at_page_two_and_completes(
    engine: Engine, settings: Settings, fake: FakeArxiv, clock: FakeClock
) -> None:
    fake.requests.clear()
    daily_ingest(engine, settings, clock=clock)  # no --since: from the checkpoint
    oai = [r.query for r in fake.requests if r.path == "/oai"]
    assert oai == [
        {"verb": "ListRecords", "resumptionToken": token} for token in TOKENS.values()
    ]  # page 2 fetched again, page 1 not
    ids = arxiv_ids(engine)
    assert len(ids) == len(set(ids))
    assert set(ids) == HARVESTED | ANNOUNCED | {harvest_faults.PAGE2_DELETION}
    assert deleted(engine) == {harvest_faults.PAGE2_DELETION}
    state = checkpoint(engine, "oai:cs")
    assert state is not None
    assert (state.resumption_token, state.pages, state.last_datestamp) == (
        None,
        0,
        date(2025, 6, 19),
    )


@pytest.mark.parametrize("point", list(harvest_faults.POINTS))
def test_a_fault_inside_a_page_rolls_the_whole_page_back(
    engine: Engine,
    arxiv_settings: Settings,
    fake: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
) -> None:
    with monkeypatch.context() as patch:
        harvest_faults.inject(patch.setattr, point, harvest_faults.raise_fault)
        with pytest.raises(harvest_faults.InjectedFault):
            daily_ingest(engine, arxiv_settings, since=date(2025, 6, 17), clock=FakeClock())
    assert_as_page_one_left_it(engine)
    assert_resumes_at_page_two_and_completes(engine, arxiv_settings, fake, FakeClock())


@pytest.mark.parametrize("point", list(harvest_faults.POINTS))
def test_a_process_killed_inside_a_page_loses_the_whole_page_and_resumes_there(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv, point: str
) -> None:
    env = {
        **os.environ,
        **arxiv_settings.as_environment(),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    killed = subprocess.run(
        [sys.executable, "-m", "tests.harvest_faults", point],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert_as_page_one_left_it(engine)
    # the dead process still holds the arxiv lease: the next run takes over once it expires
    later = FakeClock(start=time.time() + LEASE_S + 1)
    assert_resumes_at_page_two_and_completes(engine, arxiv_settings, fake, later)
