"""Faults injected inside one OAI-PMH page's commit, for tests/test_harvest_atomic.py.

A page writes three things: its papers (``upsert_batch``), its deletions (``mark_deleted``) and the
checkpoint after it (``_save_state``). :func:`inject` wraps one of them so that, on page 2 only, the
write happens and then the fault strikes: an exception (the transaction must roll back) or SIGKILL
of the whole process (the transaction must never have committed). Whichever order the three are
written in and however the page is split into commits, one of the three points then lands between
two commits, and the test sees a page half-applied or skipped.

``python -m tests.harvest_faults POINT`` is the process that is killed: it ingests with the settings
in its environment (``DAILYPAPERS_*``) and kills itself at POINT on page 2.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from dailypapers.services import harvest

PAGE2_PAPER = "2506.12823"  # a paper on page 2 of tests/arxiv_script.py's four pages
PAGE2_DELETION = "2506.11068"  # the deletion on page 2
AFTER_PAGE2 = "8311205|7"  # the resumption token a checkpoint after page 2 holds (TOKENS[3])

POINTS = {
    "papers": "upsert_batch",  # after the page's papers are written
    "deletions": "mark_deleted",  # after its deletions are marked
    "checkpoint": "_save_state",  # after the checkpoint is written
}


class InjectedFault(Exception):
    """The fault a test injects: not one the harvester knows how to handle."""


def _on_page2(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if name == "upsert_batch":
        return any(r.arxiv_id == PAGE2_PAPER for r in args[1])
    if name == "mark_deleted":
        return PAGE2_DELETION in args[1]
    return bool(kwargs.get("resumption_token") == AFTER_PAGE2)


def raise_fault() -> None:
    raise InjectedFault("injected between the writes of page 2")


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def inject(
    setattr: Callable[[object, str, object], None], point: str, fault: Callable[[], None]
) -> None:
    """Wrap the write at ``point`` of ``services/harvest.py``: on page 2, write, then ``fault()``.

    ``setattr`` is ``monkeypatch.setattr`` in a test, the builtin in the killed process.
    """
    name = POINTS[point]
    original = getattr(harvest, name)

    def write_then_fault(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if _on_page2(name, args, kwargs):
            fault()
        return result

    setattr(harvest, name, write_then_fault)


def main(point: str) -> None:
    from dailypapers.config import Settings
    from dailypapers.db.engine import make_engine

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    inject(setattr, point, kill_self)
    harvest.daily_ingest(engine, settings, since=date(2025, 6, 17))
    sys.exit("the fault was never reached")


if __name__ == "__main__":
    main(sys.argv[1])
