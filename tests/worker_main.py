"""``python -m tests.worker_main ARGS``: the real ``dailypapers`` command line in a child process,
with the tests' fake embedding model registered first (as the ``settings`` fixture does in the
test process), so a real ``dailypapers worker`` can embed without loading a real model.

``TESTS_WORKER_START_DELAY_S``: each process that ``serve --workers`` spawns (it imports this
module as ``__mp_main__`` before it runs its server) sleeps that long first, as a worker does on
a loaded machine, where importing the app takes seconds."""

from __future__ import annotations

import os
import time

from dailypapers.cli import main
from dailypapers.embeddings import register_embedder
from tests.fake_embedder import fake_embedder

if __name__ == "__mp_main__" and os.environ.get("TESTS_WORKER_START_DELAY_S"):
    time.sleep(float(os.environ["TESTS_WORKER_START_DELAY_S"]))

if __name__ == "__main__":
    register_embedder(fake_embedder())
    main()
