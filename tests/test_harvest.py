"""Following arXiv end to end against a fake arXiv on loopback serving recorded and hand-written
responses (see tests/data/arxiv/README.md): checkpoints, resume, faults, the lease, idempotence."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.db.models import Paper
from dailypapers.services.arxiv_client import HarvestError, LockHeld, arxiv_session
from dailypapers.services.feeds import feed
from dailypapers.services.harvest import (
    backfill,
    checkpoint,
    daily_ingest,
    lookup_ids,
)
from dailypapers.services.periods import day_period
from tests.arxiv_script import (
    ANNOUNCED,
    HARVESTED,
    OAI,
    PAGE,
    START,
    TOKENS,
    arxiv_ids,
    recorded_api,
    serve_pages,
    serve_rss,
)
from tests.fake_arxiv import FakeArxiv
from tests.helpers import FakeClock, add_papers, record


@pytest.fixture
def arxiv_settings(settings: Settings, fake: FakeArxiv) -> Settings:
    return settings.model_copy(
        update={
            "arxiv_oai_url": fake.url + "/oai",
            "arxiv_api_url": fake.url + "/api/query",
            "arxiv_rss_url": fake.url + "/rss",
            "categories": "cs.LG cs.CL",
            "arxiv_max_retries": 1,
            "contact_email": "ops@example.org",
        }
    )


def ingest(engine: Engine, settings: Settings, clock: FakeClock | None = None, **options: object):  # type: ignore[no-untyped-def]
    return daily_ingest(
        engine, settings, since=date(2025, 6, 17), clock=clock or FakeClock(), **options
    )  # type: ignore[arg-type]


def test_full_ingest_announcements_then_four_pages(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    serve_pages(fake)
    clock = FakeClock()
    summary = ingest(engine, arxiv_settings, clock)
    assert set(arxiv_ids(engine)) == HARVESTED | ANNOUNCED
    assert summary.pages == 5 and summary.deleted == 0  # 2506.11068 was never here
    state = checkpoint(engine, "oai:cs")
    assert state is not None and state.resumption_token is None
    assert state.last_datestamp == date(2025, 6, 19)
    # one request every 3 s, identified with the contact address
    assert clock.sleeps == [3.0] * 4
    assert all("mailto:ops@example.org" in r.headers["User-Agent"] for r in fake.requests)
    with Session(engine) as session:
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2506.12613"))
        assert paper is not None
        assert (
            paper.announced_on == date(2025, 6, 17) and not paper.announce_estimated
        )  # from the feed
        assert paper.comment and "v2" in paper.comment.lower() or paper.updated == date(2025, 6, 18)
        estimated = session.scalar(select(Paper).where(Paper.arxiv_id == "2506.14793"))
        assert estimated is not None and estimated.announce_estimated
        assert estimated.announced_on == date(2025, 6, 19)


def test_rerunning_the_same_window_changes_nothing(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    serve_pages(fake)
    ingest(engine, arxiv_settings)
    before = arxiv_ids(engine)
    again = ingest(engine, arxiv_settings)
    assert (again.new, again.updated) == (0, 0)
    assert arxiv_ids(engine) == before


def test_killed_after_page_two_resumes_with_every_record_once(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    serve_pages(fake, skip=3)
    fake.add(
        "/oai", b"<html>Internal error</html>", status=500, params={"resumptionToken": TOKENS[3]}
    )
    with pytest.raises(HarvestError, match="HTTP 500"):
        ingest(engine, arxiv_settings)
    state = checkpoint(engine, "oai:cs")
    assert (
        state is not None and state.resumption_token == TOKENS[3]
    )  # page 2 committed with its token
    assert {"2506.12823", "2506.12556"} <= set(arxiv_ids(engine))
    assert "2506.14040" not in arxiv_ids(engine)

    fake.routes.clear()
    serve_rss(fake)
    serve_pages(fake)
    fake.requests.clear()
    daily_ingest(
        engine, arxiv_settings, clock=FakeClock()
    )  # no --since: resume from the checkpoint
    oai_requests = [r.query for r in fake.requests if r.path == "/oai"]
    assert oai_requests[0] == {"verb": "ListRecords", "resumptionToken": TOKENS[3]}
    assert len(oai_requests) == 2
    ids = arxiv_ids(engine)
    assert len(ids) == len(set(ids)) and set(ids) == HARVESTED | ANNOUNCED
    state = checkpoint(engine, "oai:cs")
    assert (
        state is not None
        and state.resumption_token is None
        and state.last_datestamp == date(2025, 6, 19)
    )


@pytest.mark.parametrize(
    "bad_body",
    [
        PAGE[2][: len(PAGE[2]) // 2],  # truncated page
        b"<html><body><h1>Retry after 10 seconds</h1></body></html>",  # HTML instead of XML
        b"<?xml version='1.0'?><OAI-PMH><ListRecords><record>",  # malformed XML
        b"",
    ],
    ids=["truncated", "html", "malformed", "empty"],
)
def test_broken_page_writes_nothing_and_next_run_succeeds(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv, bad_body: bytes
) -> None:
    serve_rss(fake)
    fake.add("/oai", PAGE[1], params=START)
    fake.add("/oai", bad_body, params={"resumptionToken": TOKENS[2]}, times=1)
    with pytest.raises(HarvestError, match="checkpoint kept"):
        ingest(engine, arxiv_settings)
    assert "2506.12823" not in arxiv_ids(engine)
    state = checkpoint(engine, "oai:cs")
    assert state is not None and state.resumption_token == TOKENS[2]
    serve_pages(fake)
    daily_ingest(engine, arxiv_settings, clock=FakeClock())
    assert set(arxiv_ids(engine)) == HARVESTED | ANNOUNCED


def test_expired_resumption_token_restarts_the_window(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    expired = (OAI / "ListRecords_badResumptionToken_handwritten.xml").read_bytes()
    fake.add("/oai", expired, params={"resumptionToken": TOKENS[3]}, times=1)
    serve_pages(fake)
    summary = ingest(engine, arxiv_settings)
    assert any("expired" in note for note in summary.notes)
    assert set(arxiv_ids(engine)) == HARVESTED | ANNOUNCED


def test_no_records_match_is_an_empty_harvest(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    nothing = (OAI / "ListRecords_noRecordsMatch_handwritten.xml").read_bytes()
    fake.add("/oai", nothing, params={"verb": "ListRecords", "from": "2025-06-21"})
    summary = daily_ingest(engine, arxiv_settings, since=date(2025, 6, 21), clock=FakeClock())
    assert summary.pages == 2 and set(arxiv_ids(engine)) == ANNOUNCED


def test_deleted_records_are_marked_and_hidden(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    add_papers(engine, record("2506.11068", "2025-06-16", categories=["cs.CL"]))
    serve_rss(fake)
    serve_pages(fake)
    assert ingest(engine, arxiv_settings).deleted == 1
    with Session(engine) as session:
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2506.11068"))
        assert paper is not None and paper.deleted_at is not None  # kept, marked
        assert feed(session, day_period(date(2025, 6, 16))).total == 0  # hidden


def test_exact_announce_date_beats_an_estimate(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    # OAI first (estimated dates), then the announcement feed with the exact day
    serve_pages(fake)
    fake.add("/rss/cs.LG+cs.CL", b"<html>down</html>", status=503, times=2)
    summary = ingest(engine, arxiv_settings)
    assert any("announcement feed skipped" in note for note in summary.notes)
    with Session(engine) as session:
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2506.13596"))
        assert paper is not None and paper.announce_estimated
    add_papers(
        engine, record("2506.13596", "2025-06-18", title="x")
    )  # exact (listing) wins, even later
    with Session(engine) as session:
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2506.13596"))
        assert (
            paper is not None
            and paper.announced_on == date(2025, 6, 18)
            and not paper.announce_estimated
        )


def test_replacement_announcements_do_not_add_unknown_papers(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    fake.add("/oai", (OAI / "ListRecords_noRecordsMatch_handwritten.xml").read_bytes())
    ingest(engine, arxiv_settings)
    assert "2505.12421" not in arxiv_ids(engine) and "2208.02814" not in arxiv_ids(engine)


def test_second_ingest_reports_the_lease_and_exits(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    serve_rss(fake)
    fake.add("/oai", PAGE[1], params=START, delay_s=1.0)
    for number, token in TOKENS.items():
        fake.add("/oai", PAGE[number], params={"verb": "ListRecords", "resumptionToken": token})
    errors: list[Exception] = []

    def run() -> None:
        try:
            ingest(engine, arxiv_settings)
        except LockHeld as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 1 and "another process" in str(errors[0])
    assert set(arxiv_ids(engine)) == HARVESTED | ANNOUNCED
    assert len([r for r in fake.requests if r.path == "/oai"]) == 4  # harvested once


def test_cli_ingest_lock_and_bad_options(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DAILYPAPERS_ARXIV_OAI_URL": arxiv_settings.arxiv_oai_url,
        "DAILYPAPERS_ARXIV_RSS_URL": arxiv_settings.arxiv_rss_url,
        "DAILYPAPERS_ARXIV_DELAY_S": "0",
        "DAILYPAPERS_CATEGORIES": "cs.LG cs.CL",
    }.items():
        monkeypatch.setenv(name, value)
    data_dir = str(arxiv_settings.data_dir)
    runner = CliRunner()
    assert locks.acquire(
        engine, "arxiv", "other-host:42", now=__import__("time").time(), lease_s=600
    )
    held = runner.invoke(app, ["ingest", "--data-dir", data_dir])
    assert held.exit_code == 3 and "other-host:42" in held.output
    locks.release(engine, "arxiv", "other-host:42")
    assert (
        runner.invoke(app, ["ingest", "--since", "last week", "--data-dir", data_dir]).exit_code
        == 2
    )
    assert (
        runner.invoke(
            app, ["ingest", "--categories", "cs.LG, !!", "--data-dir", data_dir]
        ).exit_code
        == 2
    )
    serve_rss(fake)
    serve_pages(fake)
    dry = runner.invoke(
        app, ["ingest", "--since", "2025-06-17", "--dry-run", "--data-dir", data_dir]
    )
    assert dry.exit_code == 0 and "nothing written" in dry.output and arxiv_ids(engine) == []
    done = runner.invoke(app, ["ingest", "--since", "2025-06-17", "--data-dir", data_dir])
    assert done.exit_code == 0, done.output
    assert "11 new" in done.output and set(arxiv_ids(engine)) == HARVESTED | ANNOUNCED


def test_lookup_by_id_and_unknown_ids(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    status, body = recorded_api("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
    fake.add("/api/query", body, status=status, headers={"Content-Type": "application/atom+xml"})
    with arxiv_session(engine, arxiv_settings, clock=FakeClock()) as client:
        summary, missing = lookup_ids(engine, client, arxiv_settings, ["0808.05394", "1707.08567"])
    assert summary.new == 1 and missing == ["0808.05394"]
    assert fake.requests[0].query["id_list"] == "0808.05394,1707.08567"
    with Session(engine) as session:
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "1707.08567"))
        assert paper is not None and paper.announce_estimated


def test_export_api_error_feed_is_a_clear_error(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    status, body = recorded_api("id_abc_s0_m100_b79c8dcf6bc3.json")
    fake.add("/api/query", body, status=status)
    with (
        arxiv_session(engine, arxiv_settings, clock=FakeClock()) as client,
        pytest.raises(HarvestError, match="export API"),
    ):
        lookup_ids(engine, client, arxiv_settings, ["abc"])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count(Paper.id))) == 0
    assert locks.info(engine, "arxiv").holder is None  # the lease is released on failure


def test_backfill_pages_and_splits_ranges_over_the_cap(
    engine: Engine, arxiv_settings: Settings, fake: FakeArxiv
) -> None:
    _, page = recorded_api("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
    huge = page.replace(b">1</opensearch:totalResults>", b">45000</opensearch:totalResults>")
    whole = "cat:cs.LG AND submittedDate:[202506010000 TO 202506302359]"
    fake.add("/api/query", huge, params={"search_query": whole})
    fake.add("/api/query", page)
    with arxiv_session(engine, arxiv_settings, clock=FakeClock()) as client:
        summary = backfill(
            engine,
            client,
            arxiv_settings,
            start=date(2025, 6, 1),
            end=date(2025, 6, 30),
            categories=["cs.LG"],
        )
    queries = [r.query["search_query"] for r in fake.requests]
    assert queries[0] == whole
    assert queries[1:] == [
        "cat:cs.LG AND submittedDate:[202506010000 TO 202506152359]",
        "cat:cs.LG AND submittedDate:[202506160000 TO 202506302359]",
    ]
    assert summary.pages == 2 and summary.new == 1 and arxiv_ids(engine) == ["1707.08567"]
