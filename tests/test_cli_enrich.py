"""The commands for what papers get beyond arXiv: ``thumbnails``, ``keyphrases``, ``stars``, ``map``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.embeddings.store import embed_pending
from tests.fake_arxiv import FakeArxiv
from tests.fake_embedder import FAKE_MODEL, fake_embedder
from tests.fake_github import fake_github
from tests.helpers import add_papers, record
from tests.pdfs import paper_pdf


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for key in ("DAILYPAPERS_DATA_DIR", "DAILYPAPERS_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    engine = make_engine(f"sqlite:///{folder / 'dailypapers.db'}")
    upgrade(engine)
    add_papers(
        engine,
        record("2506.00001", "2025-06-17", version=1, code_url="https://github.com/ada/engine"),
        record("2506.00002", "2025-06-17", version=1),
    )
    engine.dispose()
    return folder


def test_thumbnails_command(
    data_dir: Path, fake: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add("/pdf/2506.00002v1", paper_pdf(), headers={"Content-Type": "application/pdf"})
    fake.add("/pdf/2506.00001v1", b"<html>no</html>")
    monkeypatch.setenv("DAILYPAPERS_ARXIV_PDF_URL", f"{fake.url}/pdf")
    monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY_S", "0")
    result = CliRunner().invoke(app, ["thumbnails", "--limit", "5", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "1 thumbnails made, 1 skipped, 0 to retry" in result.output
    assert (data_dir / "thumbnails" / "2506" / "2506.00002v1.webp").is_file()
    bad = CliRunner().invoke(app, ["thumbnails", "--limit", "0", "--data-dir", str(data_dir)])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_keyphrases_and_map_commands(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["keyphrases", "--data-dir", str(data_dir)])
    assert result.exit_code == 0 and "2 papers given key phrases and a TL;DR" in result.output
    monkeypatch.setenv("DAILYPAPERS_EMBEDDING_MODEL", FAKE_MODEL)
    first = CliRunner().invoke(app, ["map", "--data-dir", str(data_dir)])
    assert first.exit_code == 0 and "no paper is embedded yet" in first.output
    engine = make_engine(f"sqlite:///{data_dir / 'dailypapers.db'}")
    embed_pending(engine, fake_embedder())
    engine.dispose()
    done = CliRunner().invoke(app, ["map", "--refit", "--data-dir", str(data_dir)])
    assert done.exit_code == 0 and "new layout fitted on 2 papers" in done.output


def test_stars_command(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_github() as github:
        github.repos = {"ada/engine": 5}
        monkeypatch.setenv("DAILYPAPERS_GITHUB_API_URL", github.url)
        result = CliRunner().invoke(app, ["stars", "--data-dir", str(data_dir)])
        assert result.exit_code == 0 and "1 repositories added; 1 updated" in result.output
        github.remaining = 0
        monkeypatch.setenv("DAILYPAPERS_GITHUB_TOKEN", "t")
        later = CliRunner().invoke(app, ["stars", "--data-dir", str(data_dir)])
        assert later.exit_code == 0  # nothing due yet: GitHub not asked
        assert len(github.requests) == 1 and github.requests[0][1] is None
