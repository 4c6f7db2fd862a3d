"""The web processes of a box share one filter catalogue through files (search/catalogue_files.py):
the first to need it builds and saves it, every other maps it and answers exactly as a private
build would; one builds at a time; a stale, foreign or damaged file is built over, never an error.
Each ``Catalogues()`` here stands for a web process (its own catalogues, the same folder)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.embeddings.store import embed_pending
from dailypapers.runtime import Runtime
from dailypapers.search import catalogue as catalogue_module
from dailypapers.search import catalogue_codes, catalogue_files
from dailypapers.search.catalogue import CATALOGUES, Catalogue, Catalogues
from dailypapers.search.dense import catalogue_ranking
from dailypapers.vectors import ExactIndex, VectorIndex
from dailypapers.vectors.live import index_folder
from tests import test_search_filters as plain_path
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, record
from tests.test_search_filters import CATS, FILTERS, N, _brute, _plain

pytestmark = pytest.mark.only_backend("sqlite")  # PostgreSQL keeps no catalogue (search/dense.py)

corpus = plain_path.corpus  # the same papers and vectors (a fixture)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When each build started; each takes 0.2 s more, so that two processes' builds would overlap."""
    started: list[float] = []
    real = catalogue_module.build

    def counted(engine: Engine, index: VectorIndex) -> Catalogue:
        started.append(time.monotonic())
        time.sleep(0.2)
        return real(engine, index)

    monkeypatch.setattr(catalogue_module, "build", counted)
    return started


def _ready(process: Catalogues, engine: Engine, index: VectorIndex) -> Catalogue:
    deadline = time.monotonic() + 30
    while (found := process.ready(engine, index.model_name)) is None:
        assert time.monotonic() < deadline, "no catalogue built"
        time.sleep(0.02)
    return found


def _answers_exactly(engine: Engine, index: ExactIndex, catalogue: Catalogue) -> None:
    with engine.connect() as conn:
        for paper in (42, 77, 150):
            query = index.vectors_for([paper])[paper]
            for filters in FILTERS:
                want = _brute(index, query, _plain(conn, filters), 10)
                assert catalogue_ranking(conn, catalogue, index, query, filters, 10) == want


def _saved(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / catalogue_files.FOLDER).iterdir())


def test_the_second_process_maps_what_the_first_built(
    corpus: tuple[Engine, ExactIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    builds: list[float],
) -> None:
    engine, index = corpus
    # every category's pass through its bit block: the blocks saved at the build serve it
    monkeypatch.setattr(catalogue_module, "BITS_AFTER", 0)
    monkeypatch.setattr(catalogue_module, "BITS_KEEP", N)
    monkeypatch.setattr(catalogue_codes, "GATHER_RUN", 7)
    monkeypatch.setattr(catalogue_module, "BLOCK_SHARE", 10.0)
    first, second = Catalogues(background=False), Catalogues(background=False)
    first.warm(engine, index, tmp_path)
    second.warm(engine, index, tmp_path)
    assert len(builds) == 1  # the second read the files
    one, two = _ready(first, engine, index), _ready(second, engine, index)
    assert one is not two
    for catalogue in (one, two):
        assert isinstance(catalogue.codes, np.memmap) and isinstance(catalogue.bits, np.memmap)
        assert sorted(catalogue.mapped_blocks) == sorted(catalogue.categories)
        _answers_exactly(engine, index, catalogue)
        assert not catalogue.blocks  # no private copy of a category's bits was made
    private = catalogue_module.build(engine, index)
    assert np.array_equal(two.ids, private.ids) and np.array_equal(two.codes, private.codes)
    assert np.array_equal(two.bits, private.bits) and np.array_equal(two.days, private.days)


def test_every_categorys_rows_are_read_once_a_box(
    corpus: tuple[Engine, ExactIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    builds: list[float],
) -> None:
    """The builder reads every category's rows (not only the broadest ones'), and saves them: a
    process that maps the files reads none from the database, whatever the category."""
    engine, index = corpus
    monkeypatch.setattr(catalogue_module, "WARM_CATEGORIES", 1)
    Catalogues(background=False).warm(engine, index, tmp_path)
    monkeypatch.setattr(catalogue_module, "id_array", _no_sql)
    second = Catalogues(background=False)
    second.warm(engine, index, tmp_path)
    mapped = _ready(second, engine, index)
    assert len(mapped.categories) == 4 and len(mapped.members) == 1
    _answers_exactly(engine, index, mapped)  # every filter of FILTERS, no category read
    assert len(builds) == 1


def _no_sql(conn: object, sql: str, params: dict[str, object]) -> np.ndarray:
    """``id_array`` for a category that had no paper at the build (FILTERS has one): empty."""
    assert params["c"] not in CATS, f"{params['c']}'s rows read from the database"
    return np.zeros(0, np.int64)


def test_one_process_builds_at_a_time(
    corpus: tuple[Engine, ExactIndex], tmp_path: Path, builds: list[float]
) -> None:
    """Two processes start at once (background threads): one builds, the other waits for the
    lock and maps its files."""
    engine, index = corpus
    processes = [Catalogues(), Catalogues()]
    starting = [
        threading.Thread(target=process.warm, args=(engine, index, tmp_path))
        for process in processes
    ]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join()
    for process in processes:
        _answers_exactly(engine, index, _ready(process, engine, index))
    assert len(builds) == 1
    assert len(_saved(tmp_path)) == 1


def test_a_stale_catalogue_is_built_again_and_the_old_files_go(
    corpus: tuple[Engine, ExactIndex],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    builds: list[float],
) -> None:
    engine, index = corpus
    first, second = Catalogues(background=False), Catalogues(background=False)
    first.warm(engine, index, tmp_path)
    old = _ready(first, engine, index)
    (before,) = _saved(tmp_path)
    monkeypatch.setattr(catalogue_module, "TAIL_MAX", -1)  # too many papers added since
    second.warm(engine, index, tmp_path)  # the saved one is stale: built again
    assert len(builds) == 2
    (after,) = _saved(tmp_path)
    assert after != before
    _answers_exactly(engine, index, old)  # a process still on the old files keeps its pages
    monkeypatch.setattr(catalogue_module, "TAIL_MAX", 10**9)
    with engine.connect() as conn:
        newer = first.get(conn, index)
    assert newer is old  # fresh enough for this process: kept, nothing read
    monkeypatch.setattr(catalogue_module, "REFRESH_S", -1.0)  # too old: the files are, too
    with engine.connect() as conn:
        first.get(conn, index)
    assert len(builds) == 3


@pytest.mark.parametrize(
    "damage", ["other database", "file missing", "header garbled", "a fact missing"]
)
def test_a_foreign_or_damaged_catalogue_is_built_over(
    corpus: tuple[Engine, ExactIndex], tmp_path: Path, builds: list[float], damage: str
) -> None:
    engine, index = corpus
    first = Catalogues(background=False)
    first.warm(engine, index, tmp_path)
    header = tmp_path / catalogue_files.HEADER
    if damage == "other database":
        facts = json.loads(header.read_text())
        header.write_text(json.dumps({**facts, "source": "sqlite:////elsewhere.db|m"}))
    elif damage == "a fact missing":  # a header written by another version, say
        facts = json.loads(header.read_text())
        header.write_text(json.dumps({k: v for k, v in facts.items() if k != "built_at"}))
    elif damage == "file missing":
        (name,) = _saved(tmp_path)
        (tmp_path / catalogue_files.FOLDER / name / "codes.npy").unlink()
    else:
        header.write_text("{not json")
    second = Catalogues(background=False)
    second.warm(engine, index, tmp_path)
    assert len(builds) == 2
    _answers_exactly(engine, index, _ready(second, engine, index))
    assert json.loads(header.read_text())["source"] == f"{engine.url}|{index.model_name}"


def test_a_catalogue_that_cannot_be_saved_is_still_built(
    corpus: tuple[Engine, ExactIndex], tmp_path: Path, builds: list[float]
) -> None:
    """A read-only or full disk: search keeps its catalogue (private), the build's error logged."""
    engine, index = corpus
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    process = Catalogues(background=False)
    process.warm(engine, index, blocked)
    assert len(builds) == 1
    _answers_exactly(engine, index, _ready(process, engine, index))


@pytest.mark.parametrize("mapped", [True, False])  # DAILYPAPERS_VECTOR_MMAP
def test_web_processes_share_their_catalogue_where_vectors_are_mapped(
    settings: Settings, engine: Engine, mapped: bool
) -> None:
    settings = settings.model_copy(update={"vector_mmap": mapped})
    add_papers(engine, *(record(f"2506.{i:05d}", "2025-06-02") for i in range(5)))
    embed_pending(engine, fake_embedder())
    source = Runtime().semantic_source(settings, engine)
    deadline = time.monotonic() + 30
    while (index := source.index()[0]) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    built = _ready(CATALOGUES, engine, index)
    folder = index_folder(settings, index.model_name)
    assert (folder / catalogue_files.HEADER).exists() == mapped
    assert isinstance(built.codes, np.memmap) == mapped
