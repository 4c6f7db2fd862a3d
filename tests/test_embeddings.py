"""Embeddings: batching and caching, storage round-trip, resumable runs, the CLI and bad models."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select, text, update
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import Paper, PaperEmbedding
from dailypapers.db.vector_store import vector_store
from dailypapers.embeddings import EmbeddingModelError, check_embedding_model, paper_text
from dailypapers.embeddings.store import count_pending, embed_pending
from dailypapers.runtime import Runtime
from dailypapers.services.imports import import_listing
from dailypapers.services.sample import load_sample, sample_files, sample_ids
from tests.fake_embedder import FAKE_MODEL, fake_embedder

runner = CliRunner()


def test_encode_keeps_input_order_and_unit_length() -> None:
    embedder = fake_embedder()
    texts = ["a much longer text about graph neural networks", "short", "", "medium text here"]
    seen: list[int] = []
    vectors = embedder.encode(texts, batch_size=2, progress=seen.append)
    assert vectors.shape == (4, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    for text_, vector in zip(texts, vectors, strict=True):  # length sorting never mixes rows up
        assert np.allclose(vector, embedder.encode([text_])[0], atol=1e-6)
    assert seen == [2, 2]


def test_query_vectors_are_cached_and_long_queries_cut() -> None:
    embedder = fake_embedder()
    first = embedder.encode_query("spiking  neurons")
    assert embedder.encode_query("spiking neurons") is first  # same text after whitespace folding
    assert not first.flags.writeable
    long = embedder.encode_query("word " * 5000)
    assert long.shape == (embedder.dim,)


def test_paper_text_is_title_and_abstract() -> None:
    assert paper_text(" A  title ", "An\nabstract.") == "A title. An abstract."
    assert paper_text("Only a title", "") == "Only a title"


def test_vectors_round_trip_through_the_database(engine: Engine) -> None:
    load_sample(engine)
    embedder = fake_embedder()
    assert embed_pending(engine, embedder, limit=20).embedded == 20
    with engine.connect() as conn:
        rows = conn.execute(
            select(Paper.id, Paper.title, Paper.abstract, PaperEmbedding.dim)
            .join(PaperEmbedding, PaperEmbedding.paper_id == Paper.id)
            .where(PaperEmbedding.model == FAKE_MODEL)
        ).all()
        stored = vector_store(conn).read_of(conn, FAKE_MODEL, [row.id for row in rows])
    assert len(rows) == 20 and len(stored) == 20
    for row in rows:
        expected = embedder.encode([paper_text(row.title, row.abstract)])[0]
        assert stored[row.id].dtype == np.float32 and row.dim == len(expected)
        # float32 blobs on SQLite, half precision (pgvector halfvec) on PostgreSQL
        assert np.allclose(stored[row.id], expected, atol=2e-3)


def test_embedding_resumes_and_only_redoes_changed_papers(engine: Engine) -> None:
    load_sample(engine)
    embedder = fake_embedder()
    total = count_pending(engine, FAKE_MODEL)
    assert embed_pending(engine, embedder, limit=100).embedded == 100  # an interrupted run
    assert count_pending(engine, FAKE_MODEL) == total - 100
    assert embed_pending(engine, embedder).embedded == total - 100  # the re-run continues
    assert embed_pending(engine, embedder).embedded == 0
    with engine.begin() as conn:  # a minute later, an update changes one title, touches another
        earlier = utcnow().replace(microsecond=0)
        conn.execute(update(Paper).values(modified_at=earlier - timedelta(minutes=2)))
        conn.execute(update(PaperEmbedding).values(created_at=earlier - timedelta(minutes=1)))
        ids = conn.scalars(select(Paper.id).order_by(Paper.id).limit(2)).all()
        now = text("CURRENT_TIMESTAMP")
        conn.execute(update(Paper).where(Paper.id == ids[0]).values(title="New", modified_at=now))
        conn.execute(update(Paper).where(Paper.id == ids[1]).values(modified_at=now))
    counts = embed_pending(engine, embedder)
    assert (counts.embedded, counts.unchanged) == (1, 1)
    assert embed_pending(engine, embedder).line() == "0 embedded, 0 unchanged"


def test_deleted_papers_are_not_embedded(engine: Engine) -> None:
    load_sample(engine)
    with engine.begin() as conn:
        conn.execute(update(Paper).values(deleted_at=text("CURRENT_TIMESTAMP")))
    assert embed_pending(engine, fake_embedder()).embedded == 0


def test_unknown_models_name_the_setting(settings: Settings, tmp_path: Path) -> None:
    for name in ("no-such-org/no-such-model", str(tmp_path / "missing"), "./relative/dir/x"):
        with pytest.raises(EmbeddingModelError, match="DAILYPAPERS_EMBEDDING_MODEL"):
            check_embedding_model(settings.model_copy(update={"embedding_model": name}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmbeddingModelError, match="no sentence-transformers model"):
        check_embedding_model(
            settings.model_copy(update={"embedding_model": str(tmp_path / "empty")})
        )
    assert check_embedding_model(Settings(_env_file=None)).is_dir()  # type: ignore[call-arg]


@pytest.mark.parametrize("command", ["embed", "serve"])
def test_cli_stops_with_one_line_for_an_unknown_model(tmp_path: Path, command: str) -> None:
    result = runner.invoke(
        app,
        [command, "--data-dir", str(tmp_path)],
        env={"DAILYPAPERS_EMBEDDING_MODEL": "no-such-org/no-such-model"},
    )
    assert result.exit_code == 2
    assert "DAILYPAPERS_EMBEDDING_MODEL" in result.output and "Traceback" not in result.output


def test_embed_command_reports_and_resumes(tmp_path: Path, settings: Settings) -> None:
    env = {"DAILYPAPERS_EMBEDDING_MODEL": FAKE_MODEL}
    assert runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)]).exit_code == 0
    first = runner.invoke(app, ["embed", "--limit", "50", "--data-dir", str(tmp_path)], env=env)
    assert first.exit_code == 0, first.output
    assert "50 papers to embed" in first.output and "50 embedded, 0 unchanged" in first.output
    kind = "exact" if settings.database_url is None else "pgvector"
    assert f"vector index: {kind}, 50 vectors" in first.output
    rest = runner.invoke(
        app, ["embed", "--batch-size", "128", "--data-dir", str(tmp_path)], env=env
    )
    papers = len(sample_ids())  # the bundled sample
    assert rest.exit_code == 0 and f"{papers - 50:,} papers to embed" in rest.output
    assert f"vector index: {kind}, {papers:,} vectors" in rest.output
    bad = runner.invoke(app, ["embed", "--batch-size", "0", "--data-dir", str(tmp_path)], env=env)
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_importing_the_package_loads_no_model_runtime() -> None:
    code = (
        "import sys, dailypapers.embeddings, dailypapers.vectors, dailypapers.web.app\n"
        "heavy = {'torch', 'onnxruntime', 'sentence_transformers', 'usearch'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _vector_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM paper_embeddings")) or 0)


def test_the_embed_job_runs_once_at_a_time(settings: Settings, engine: Engine) -> None:
    from dailypapers.db import locks
    from dailypapers.jobs import make_jobs

    papers = import_listing(engine, sample_files()[0]).new
    jobs = make_jobs(settings)
    jobs.huey.immediate = True  # run in this thread, as a worker would
    assert locks.acquire(engine, "embed", "another-process", now=time.time(), lease_s=60)
    assert "in progress" in jobs.embed().get() and _vector_count(engine) == 0
    locks.release(engine, "embed", "another-process")
    assert jobs.embed().get().startswith(f"{papers} embedded")
    assert jobs.embed().get().startswith("0 embedded") and _vector_count(engine) == papers


def test_demo_embeds_in_a_background_thread(settings: Settings, engine: Engine) -> None:
    from dailypapers.services.embedding import embed_in_background

    papers = import_listing(engine, sample_files()[0]).new
    embed_in_background(settings, Runtime(), delay_s=0).join(timeout=60)
    assert _vector_count(engine) == papers
