"""What one process keeps in memory between requests and jobs: :class:`Runtime`.

A process that serves or works owns exactly one: the app factory makes one for its app (or is given
one), the job runner is given the same one when it runs in the web process (``serve`` without
``--workers``), and a CLI command makes its own. Nothing here is module-level state, so two apps in
one process (tests) never share a cache, and nothing needs resetting between them.

- ``embedders``: the embedding models loaded so far (each on first use);
- ``indexes``: the vector indexes kept current from the database (one copy, shared by search and
  by the embedding job that catches it up and saves it);
- ``word_shares``: how common each searched word is, for keyword search's reading budget;
- ``recent_vectors``: the newest papers' vectors, for "For you" rankings in the request path.
- ``spellings``: each database's vocabulary for spelling suggestions (read on first use).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select, text

from dailypapers.config import Settings
from dailypapers.db.models import Paper
from dailypapers.embeddings.loader import Embedders
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.search.catalogue import CATALOGUES
from dailypapers.search.fts import WordShares
from dailypapers.search.hybrid import QueryEncoder
from dailypapers.search.semantic import SemanticSource
from dailypapers.search.spelling import VOCABULARY_PAPERS, Spelling, Vocabulary
from dailypapers.vectors import LiveIndexes, VectorIndex
from dailypapers.vectors.hnsw import HnswIndex
from dailypapers.vectors.live import index_folder


@dataclass
class Runtime:
    embedders: Embedders = field(default_factory=Embedders)
    indexes: LiveIndexes = field(default_factory=LiveIndexes)
    word_shares: WordShares = field(default_factory=WordShares)
    recent_vectors: RecentVectors = field(default_factory=RecentVectors)
    spellings: dict[str, Spelling] = field(default_factory=dict)

    def spelling(self, engine: Engine) -> Spelling:
        """Spelling suggestions from this database's words (read on first use, in the
        background)."""
        key = str(engine.url)
        if key not in self.spellings:

            def read() -> Vocabulary:
                newest = (
                    select(Paper.title, Paper.abstract, Paper.authors)
                    .order_by(Paper.id.desc())
                    .limit(VOCABULARY_PAPERS)
                )
                with engine.connect() as conn:
                    rows = conn.execute(newest).all()
                return Vocabulary.from_texts(
                    (f"{title} {abstract}" for title, abstract, _ in rows),
                    (str(name) for *_, authors in rows for name in authors or ()),
                )

            self.spellings[key] = Spelling(read)
        return self.spellings[key]

    def semantic_source(self, settings: Settings, engine: Engine) -> SemanticSource:
        """The dense half of search for a web process: the vector index in the data dir and the
        model it was built with, both loaded on first use (never at start-up: the app answers
        keyword searches at once)."""

        def current_index() -> VectorIndex | None:
            index = self.indexes.open(settings, engine)
            if index is not None and settings.filter_catalogue:
                if isinstance(index, HnswIndex):  # the catalogue's int8 codes serve instead
                    index.codes_wanted = False
                # filtered search by meaning (search/catalogue.py), one copy a box when mapped
                folder = index_folder(settings, index.model_name) if settings.vector_mmap else None
                CATALOGUES.warm(engine, index, folder)
            return index

        def encoder_for(model: str) -> QueryEncoder:
            return self.embedders.get(settings, model)

        def count_papers() -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        text("SELECT count(*) FROM papers WHERE deleted_at IS NULL")
                    ).scalar_one()
                )

        return SemanticSource(current_index, encoder_for, count_papers=count_papers)
