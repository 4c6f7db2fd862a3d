"""``python -m tests.worker_main ARGS``: the real ``dailypapers`` command line in a child process,
with the tests' fake embedding model registered first (as the ``settings`` fixture does in the
test process), so a real ``dailypapers worker`` can embed without loading a real model."""

from __future__ import annotations

from dailypapers.cli import main
from dailypapers.embeddings import register_embedder
from tests.fake_embedder import fake_embedder

if __name__ == "__main__":
    register_embedder(fake_embedder())
    main()
