"""Follow arXiv: the daily ingest (announcement feeds + OAI-PMH), lookups by id, date backfills.

Every arXiv request goes through one :class:`~dailypapers.sources.arxiv.http.PoliteClient` whose
pacing is shared through the ``arxiv`` lease in the database, so one process at a time talks to
arXiv for the whole instance. OAI-PMH pages are committed one at a time together with their
checkpoint (resumption token), so a run killed at any moment resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db import author_index, keyword_index
from dailypapers.db.models import IngestState, Paper
from dailypapers.services.arxiv_client import HarvestError, arxiv_session
from dailypapers.sources.arxiv.announcements import parse_announcements
from dailypapers.sources.arxiv.export_api import ExportApiError, parse_export_feed
from dailypapers.sources.arxiv.http import ArxivUnavailable, Clock, PoliteClient
from dailypapers.sources.arxiv.oai import (
    OaiError,
    OaiPage,
    parse_list_records,
    record_matches,
    sets_for_categories,
)
from dailypapers.sources.arxiv.records import PaperRecord
from dailypapers.sources.arxiv.xml import MalformedResponse
from dailypapers.upsert import ImportCounts, upsert_batch

log = logging.getLogger(__name__)
FIRST_RUN_DAYS = 7  # with no checkpoint and no --since, harvest the last week
ID_BATCH = 100  # ids per export-API request
API_PAGE = 500  # results per export-API search page
API_CAP = 30_000  # arXiv's export API will not page past this many results


@dataclass
class HarvestSummary(ImportCounts):
    """A harvest's :class:`ImportCounts` (``add`` counts one upserted page), and what else it did."""

    deleted: int = 0
    pages: int = 0
    notes: list[str] = field(default_factory=list)

    def merge(self, part: HarvestSummary) -> None:
        """Add another part of the same run (the feed, one OAI set) to this summary."""
        self.add(part)
        self.deleted += part.deleted
        self.pages += part.pages
        self.notes += part.notes

    def line(self) -> str:
        return (
            f"{self.new:,} new, {self.updated:,} updated, {self.deleted:,} deleted, "
            f"{self.skipped:,} skipped ({self.pages:,} pages)"
        )


OnPage = Callable[[str, HarvestSummary], None]


def _noop(_label: str, _summary: HarvestSummary) -> None:
    return None


def _get(
    client: PoliteClient, url: str, params: dict[str, str | int], *, error_feed: bool = False
) -> bytes:
    """The body of a successful response; ``error_feed``: a 4xx body is a parseable error."""
    try:
        response = client.get(url, params)
    except ArxivUnavailable as exc:
        raise HarvestError(str(exc)) from None
    if response.status_code >= 400 and not (error_feed and response.status_code < 500):
        raise HarvestError(f"arXiv answered HTTP {response.status_code} for {response.url}")
    return response.content


def mark_deleted(conn: Connection, arxiv_ids: list[str]) -> int:
    """Mark papers arXiv reports as deleted (kept, but hidden from feeds and search)."""
    if not arxiv_ids:
        return 0
    result = conn.execute(
        update(Paper)
        .where(Paper.arxiv_id.in_(arxiv_ids), Paper.deleted_at.is_(None))
        .values(deleted_at=utcnow())
    )
    return int(result.rowcount)


# --- OAI-PMH -------------------------------------------------------------------------------


def _state(conn: Connection, source: str) -> IngestState | None:
    row = conn.execute(select(IngestState.__table__).where(IngestState.source == source)).first()
    return IngestState(**row._mapping) if row else None


def _save_state(conn: Connection, source: str, **values: object) -> None:
    values["updated_at"] = utcnow()
    if (
        conn.execute(
            update(IngestState).where(IngestState.source == source).values(**values)
        ).rowcount
        == 0
    ):
        conn.execute(insert(IngestState).values(source=source, **values))


def checkpoint(engine: Engine, source: str) -> IngestState | None:
    with engine.connect() as conn:
        return _state(conn, source)


def _commit_page(
    engine: Engine,
    source: str,
    page: OaiPage,
    records: list[PaperRecord],
    run_from: date | None,
    summary: HarvestSummary,
) -> None:
    """One transaction: the page's papers, its deletions and the checkpoint after it."""
    with engine.begin() as conn:  # per page: a harvest killed anywhere resumes after its last page
        summary.add(upsert_batch(conn, records, index_new=False) if records else ImportCounts())
        summary.deleted += mark_deleted(conn, page.deleted)
        summary.skipped += len(page.skipped)
        state = _state(conn, source)
        pages = (state.pages if state else 0) + 1
        if page.resumption_token:
            _save_state(
                conn, source, resumption_token=page.resumption_token, run_from=run_from, pages=pages
            )
        else:
            newest = max(
                filter(
                    None, [page.max_datestamp, state.last_datestamp if state else None, run_from]
                ),
                default=None,
            )
            _save_state(
                conn, source, resumption_token=None, run_from=None, last_datestamp=newest, pages=0
            )


def harvest_set(
    engine: Engine,
    client: PoliteClient,
    settings: Settings,
    oai_set: str,
    *,
    categories: list[str],
    since: date | None = None,
    dry_run: bool = False,
    on_page: OnPage = _noop,
) -> HarvestSummary:
    """Harvest one OAI set from its checkpoint (or ``since``) to the end, a page per commit.

    New papers reach the keyword index once, after the pages (also when a page fails).
    """
    try:
        return _harvest_set(engine, client, settings, oai_set, categories, since, dry_run, on_page)
    finally:
        keyword_index.catch_up(engine)
        author_index.catch_up(engine)


def _harvest_set(
    engine: Engine,
    client: PoliteClient,
    settings: Settings,
    oai_set: str,
    categories: list[str],
    since: date | None,
    dry_run: bool,
    on_page: OnPage,
) -> HarvestSummary:
    source = f"oai:{oai_set}"
    summary = HarvestSummary()
    state = checkpoint(engine, source)
    token = state.resumption_token if state and since is None else None
    run_from = (
        (state.run_from if token and state else None)
        or since
        or (
            state.last_datestamp
            if state and state.last_datestamp
            else date.today() - timedelta(days=FIRST_RUN_DAYS)
        )
    )
    restarted = False
    if token:
        log.info("%s: resuming from checkpoint (page %s)", source, state.pages if state else "?")
    while True:
        params: dict[str, str | int] = {"verb": "ListRecords"}
        if token:
            params["resumptionToken"] = token
        else:
            params.update(metadataPrefix="arXiv", set=oai_set, **{"from": run_from.isoformat()})
        try:
            page = parse_list_records(_get(client, settings.arxiv_oai_url, params))
        except OaiError as exc:
            if exc.code == "badResumptionToken" and token and not restarted:
                log.warning("%s: resumption token expired; restarting from %s", source, run_from)
                summary.notes.append(
                    f"{source}: resumption token expired, re-harvested from {run_from}"
                )
                token, restarted = None, True
                continue
            raise HarvestError(f"{source}: {exc}") from None
        except MalformedResponse as exc:
            raise HarvestError(
                f"{source}: unusable response from arXiv ({exc}); checkpoint kept"
            ) from None
        records = [r for r in page.records if record_matches(r, categories)]
        summary.pages += 1
        if dry_run:
            summary.new += len(records)
            summary.deleted += len(page.deleted)
            summary.skipped += len(page.skipped)
        else:
            _commit_page(engine, source, page, records, run_from, summary)
        log.info(
            "%s: page %d, %d records, %d deleted",
            source,
            summary.pages,
            len(records),
            len(page.deleted),
        )
        on_page(source, summary)
        token = page.resumption_token
        if not token:
            return summary


# --- announcements (rss.arxiv.org) ---------------------------------------------------------


def fetch_announcements(
    engine: Engine,
    client: PoliteClient,
    settings: Settings,
    categories: list[str],
    *,
    dry_run: bool = False,
) -> HarvestSummary:
    """Today's announcement feed: exact announce dates (new / cross-list / replacement)."""
    url = f"{settings.arxiv_rss_url.rstrip('/')}/{'+'.join(categories)}"
    summary = HarvestSummary(pages=1)
    try:
        announcements = parse_announcements(_get(client, url, {}))
    except (MalformedResponse, HarvestError) as exc:
        # Not fatal: OAI-PMH still brings the papers, with estimated announce dates.
        log.warning("announcement feed unusable: %s", exc)
        summary.notes.append(f"announcement feed skipped ({exc})")
        return summary
    # New papers and cross-lists are placed on this day. A replacement only refreshes a paper we
    # already have: its first announcement was earlier, and OAI-PMH brings unknown ones with dates.
    with engine.begin() as conn:  # its own transaction: the feed's day, before the OAI-PMH pages
        replaced = [a.arxiv_id for a in announcements if not a.is_new]
        known = set(conn.scalars(select(Paper.arxiv_id).where(Paper.arxiv_id.in_(replaced))))
        records = [a.record for a in announcements if a.is_new or a.arxiv_id in known]
        if dry_run:
            summary.new = len(records)
        elif records:
            summary.add(upsert_batch(conn, records))
    return summary


# --- export API ----------------------------------------------------------------------------


def _export_page(
    client: PoliteClient, settings: Settings, params: dict[str, str | int]
) -> tuple[list[PaperRecord], int, int]:
    try:
        page = parse_export_feed(_get(client, settings.arxiv_api_url, params, error_feed=True))
    except ExportApiError as exc:
        raise HarvestError(f"arXiv export API: {exc}") from None
    except MalformedResponse as exc:
        raise HarvestError(f"unusable export API response ({exc})") from None
    return page.records, len(page.skipped), page.total_results or 0


def lookup_ids(
    engine: Engine, client: PoliteClient, settings: Settings, arxiv_ids: list[str]
) -> tuple[HarvestSummary, list[str]]:
    """Fetch papers by id (hundreds per request) and upsert them; returns ids arXiv does not know."""
    summary = HarvestSummary()
    found: set[str] = set()
    for start in range(0, len(arxiv_ids), ID_BATCH):
        chunk = arxiv_ids[start : start + ID_BATCH]
        records, skipped, _ = _export_page(
            client, settings, {"id_list": ",".join(chunk), "max_results": len(chunk)}
        )
        summary.pages += 1
        summary.skipped += skipped
        found.update(r.arxiv_id for r in records)
        with engine.begin() as conn:  # per batch: what arXiv sent is kept while the next one waits
            summary.add(upsert_batch(conn, records) if records else ImportCounts())
    return summary, [i for i in arxiv_ids if i not in found]


def _range_query(category: str, start: date, end: date) -> str:
    return f"cat:{category} AND submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]"


def backfill(
    engine: Engine,
    client: PoliteClient,
    settings: Settings,
    *,
    start: date,
    end: date,
    categories: list[str],
    on_page: OnPage = _noop,
) -> HarvestSummary:
    """Papers submitted between ``start`` and ``end`` per category, via the export API.

    A range with more results than the API pages through (30,000) is split in halves until each
    part fits; each page is committed as it arrives, and re-running a range changes nothing.
    """
    summary = HarvestSummary()
    pending = [(c, start, end) for c in categories]
    while pending:
        category, lo, hi = pending.pop(0)
        offset = 0
        while True:
            params: dict[str, str | int] = {
                "search_query": _range_query(category, lo, hi),
                "start": offset,
                "max_results": API_PAGE,
                "sortBy": "submittedDate",
                "sortOrder": "ascending",
            }
            records, skipped, total = _export_page(client, settings, params)
            if offset == 0 and total > API_CAP and lo < hi:
                middle = lo + (hi - lo) // 2
                pending[:0] = [(category, lo, middle), (category, middle + timedelta(days=1), hi)]
                break
            summary.pages += 1
            summary.skipped += skipped
            with engine.begin() as conn:  # per page: a backfill killed midway keeps what it got
                summary.add(upsert_batch(conn, records) if records else ImportCounts())
            on_page(f"{category} {lo}..{hi}", summary)
            offset += API_PAGE
            if not records or offset >= min(total, API_CAP):
                break
    return summary


# --- the daily ingest ----------------------------------------------------------------------


def daily_ingest(
    engine: Engine,
    settings: Settings,
    *,
    categories: list[str] | None = None,
    since: date | None = None,
    dry_run: bool = False,
    clock: Clock | None = None,
    transport: object = None,
    on_page: OnPage = _noop,
) -> HarvestSummary:
    """Announcements first (exact dates), then OAI-PMH for everything else since the checkpoint."""
    categories = categories or settings.category_list
    total = HarvestSummary()
    with arxiv_session(engine, settings, clock=clock, transport=transport) as client:
        part = fetch_announcements(engine, client, settings, categories, dry_run=dry_run)
        total.merge(part)
        for oai_set in sets_for_categories(categories):
            part = harvest_set(
                engine,
                client,
                settings,
                oai_set,
                categories=categories,
                since=since,
                dry_run=dry_run,
                on_page=on_page,
            )
            total.merge(part)
    return total
