"""Thumbnails: page 1 of each PDF fetched from a fake arXiv on loopback, rendered to WebP, served;
and every bad answer (huge, encrypted, HTML, broken, missing, arXiv down) logged, recorded, never
retried forever."""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from huggingface_hub.hf_api import PaperInfo
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.extras import PaperThumbnail
from dailypapers.db.models import Paper
from dailypapers.services import thumbnails as thumbs
from dailypapers.services.arxiv_client import LockHeld, arxiv_session
from dailypapers.services.enrich_jobs import near_ingest, thumbnails_job
from dailypapers.services.thumbnails import make_thumbnails, thumbnail_dir
from tests.fake_arxiv import FakeArxiv
from tests.helpers import add_papers, record
from tests.pdfs import paper_pdf

PDF = {"Content-Type": "application/pdf"}


@pytest.fixture
def pdf_settings(settings: Settings, fake: FakeArxiv) -> Settings:
    return settings.model_copy(
        update={
            "arxiv_pdf_url": f"{fake.url}/pdf",
            "arxiv_delay_s": 0.0,
            "arxiv_max_retries": 0,
            "thumbnail_max_mb": 1.0,
        }
    )


def _status(engine: Engine) -> dict[str, tuple[str, str | None, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(
                Paper.arxiv_id,
                PaperThumbnail.status,
                PaperThumbnail.reason,
                PaperThumbnail.attempts,
            ).join(PaperThumbnail, PaperThumbnail.paper_id == Paper.id)
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_page_one_becomes_a_small_webp_once(
    engine: Engine, pdf_settings: Settings, fake: FakeArxiv, client: TestClient
) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17", version=2))
    fake.add("/pdf/2506.00001v2", paper_pdf("Counting", pages=3), headers=PDF)

    run = make_thumbnails(engine, pdf_settings)
    assert (run.made, run.failed) == (1, 0)
    file = thumbnail_dir(pdf_settings) / "2506/2506.00001v2.webp"
    image = Image.open(io.BytesIO(file.read_bytes()))
    assert image.format == "WEBP" and image.width == 320 and 300 < image.height <= 480
    assert not list(thumbnail_dir(pdf_settings).rglob("*.pdf"))  # the PDF is never kept

    assert make_thumbnails(engine, pdf_settings).made == 0  # done: not fetched again
    assert len([r for r in fake.requests if r.path.startswith("/pdf/")]) == 1

    served = client.get("/thumbnails/2506/2506.00001v2.webp")
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    assert "immutable" in served.headers["cache-control"]
    api = client.get("/api/papers/2506.00001").json()
    assert api["mediaUrls"] == ["http://testserver/thumbnails/2506/2506.00001v2.webp"]
    entry = client.get("/api/daily_papers", params={"date": "2025-06-17"}).json()[0]
    assert entry["thumbnail"] == api["mediaUrls"][0]
    # huggingface_hub keeps keys it does not model as attributes (its forward compatibility)
    assert PaperInfo(**api).mediaUrls == api["mediaUrls"]  # type: ignore[attr-defined]
    assert PaperInfo(**entry).thumbnail == entry["thumbnail"]  # type: ignore[attr-defined]
    page = client.get("/papers/date/2025-06-17").text
    assert (
        '<img class="thumb" src="/thumbnails/2506/2506.00001v2.webp" width="120" height="155" loading="lazy"'
        in page
    )


def test_a_new_version_gets_a_new_file_and_the_old_one_goes(
    engine: Engine, pdf_settings: Settings, fake: FakeArxiv
) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17", version=1))
    fake.add("/pdf/2506.00001v1", paper_pdf("One"), headers=PDF)
    fake.add("/pdf/2506.00001v2", paper_pdf("Two"), headers=PDF)
    make_thumbnails(engine, pdf_settings)
    add_papers(engine, record("2506.00001", "2025-06-17", version=2))
    assert make_thumbnails(engine, pdf_settings).made == 1
    folder = thumbnail_dir(pdf_settings) / "2506"
    assert sorted(p.name for p in folder.iterdir()) == ["2506.00001v2.webp"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (paper_pdf(password="s3cret"), "password-protected"),
        (b"<!doctype html><html><body>Rate limited, try later</body></html>", "not a PDF (HTML"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken"),
        (b"", "not a PDF"),
    ],
    ids=["encrypted", "html", "broken", "empty"],
)
def test_a_bad_pdf_is_skipped_for_good_with_its_reason(
    engine: Engine,
    pdf_settings: Settings,
    fake: FakeArxiv,
    body: bytes,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17", version=1))
    fake.add("/pdf/2506.00001v1", body, headers=PDF)
    with caplog.at_level(logging.WARNING):
        run = make_thumbnails(engine, pdf_settings)
    assert (run.made, run.failed) == (0, 1)
    status, why, _attempts = _status(engine)["2506.00001"]
    assert status == "failed" and reason in (why or "")
    assert f"thumbnail of 2506.00001v1 skipped for good: {why}" in caplog.text
    assert make_thumbnails(engine, pdf_settings).failed == 0  # never asked again
    assert len(fake.requests) == 1


def test_a_missing_pdf_is_not_asked_again(
    engine: Engine, pdf_settings: Settings, fake: FakeArxiv
) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17", version=1))
    fake.add("/pdf/2506.00001v1", b"gone", status=404)
    make_thumbnails(engine, pdf_settings)
    assert _status(engine)["2506.00001"][:2] == ("failed", "arXiv answered HTTP 404 for the PDF")


def test_arxiv_down_is_retried_a_bounded_number_of_times(
    engine: Engine, pdf_settings: Settings, fake: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_papers(
        engine, record("2506.00001", "2025-06-17", version=1), record("2506.00002", "2025-06-17")
    )
    fake.add("/pdf/2506.00002v1", b"down", status=503)
    fake.add("/pdf/2506.00001v1", b"down", status=503)
    monkeypatch.setattr(thumbs, "RETRY_AFTER", thumbs.RETRY_AFTER * 0)  # due again at once
    first = make_thumbnails(engine, pdf_settings)
    assert first.deferred == 1 and "arXiv did not answer" in first.stopped  # stops, keeps work
    assert _status(engine) == {"2506.00002": ("retry", _status(engine)["2506.00002"][1], 1)}
    for _ in range(5):
        make_thumbnails(engine, pdf_settings)
    status = _status(engine)
    assert status["2506.00002"][0] == "failed" and "gave up after 3 tries" in (
        status["2506.00002"][1] or ""
    )
    assert status["2506.00002"][2] == thumbs.MAX_ATTEMPTS
    fetched = [r.path for r in fake.requests]
    assert fetched.count("/pdf/2506.00002v1") == thumbs.MAX_ATTEMPTS  # then never again


class _Streamer:
    """A server that announces (or not) a 200 MB PDF and streams it slowly; counts bytes sent."""

    def __init__(self, declare: bool) -> None:
        self.sent = 0
        self.declare = declare
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                length = b"Content-Length: 200000000\r\n" if self.declare else b""
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n"
                    + length
                    + b"Connection: close\r\n\r\n%PDF-1.7\n"
                )
                try:
                    for _ in range(200_000):  # 200 MB in 1 KB pieces, if anyone kept reading
                        conn.sendall(b"0" * 1024)
                        self.sent += 1024
                except OSError:
                    continue

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=[True, False], ids=["content-length", "no-length"])
def huge(request: pytest.FixtureRequest) -> Iterator[_Streamer]:
    server = _Streamer(declare=request.param)
    yield server
    server.close()


def test_a_200_mb_pdf_is_refused_early(
    engine: Engine, pdf_settings: Settings, huge: _Streamer
) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17", version=1))
    settings = pdf_settings.model_copy(update={"arxiv_pdf_url": f"{huge.url}/pdf"})
    run = make_thumbnails(engine, settings)
    assert run.failed == 1
    status, why, _ = _status(engine)["2506.00001"]
    assert status == "failed" and "too large" in (why or "")
    assert huge.sent < 8_000_000  # stopped near the 1 MB limit (socket buffers aside), not 200 MB


def test_the_job_is_off_when_thumbnails_are_off_and_waits_for_the_lease(
    engine: Engine, pdf_settings: Settings, fake: FakeArxiv
) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17", version=1))
    off = pdf_settings.model_copy(update={"thumbnails": False})
    assert "off" in thumbnails_job(off)
    with arxiv_session(engine, pdf_settings):  # another process talks to arXiv
        with pytest.raises(LockHeld):
            make_thumbnails(engine, pdf_settings)
        assert thumbnails_job(pdf_settings).startswith("skipped: another process")
    assert fake.requests == []


@pytest.mark.parametrize(
    "name", ["../secret_key", "2506/../../x.webp", "2506/2506.00009v1.webp", "%2e%2e/x.webp", "a"]
)
def test_only_existing_thumbnail_files_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"/thumbnails/{name}").status_code == 404


def test_thumbnail_names_are_safe_for_old_style_ids() -> None:
    assert thumbs.file_name("hep-th/9901001", 3) == "hep-th/hep-th_9901001v3.webp"
    assert thumbs.FILE_NAME.match(thumbs.file_name("hep-th/9901001", 3))
    assert thumbs.FILE_NAME.match("../x/2506v1.webp") is None


def test_the_job_keeps_out_of_the_way_of_the_daily_ingest(settings: Settings) -> None:
    at = settings.model_copy(update={"ingest_time_utc": "01:30"})
    day = datetime(2025, 6, 17, tzinfo=UTC)
    assert near_ingest(at, day.replace(hour=1, minute=15))  # 15 minutes before: not now
    assert not near_ingest(at, day.replace(hour=1, minute=10))
    assert not near_ingest(at, day.replace(hour=1, minute=31))  # the ingest has the lease first
    assert near_ingest(
        at.model_copy(update={"ingest_time_utc": "00:05"}), day.replace(hour=23, minute=50)
    )
