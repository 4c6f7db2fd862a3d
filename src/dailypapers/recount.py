"""``Recount``: a number kept for a while and counted again without making a request wait.

Counting what a table holds can read all of it (PostgreSQL's live papers: 330-424 ms at 2.5 M
papers; a model's vectors: 290 ms), too long for the request that happens to find the last count
stale. So the first count is made by its caller (there is nothing to answer with yet), and later
ones, once the last is older than the caller's time to live, on a thread of their own, one at a
time, callers meanwhile taking the last count. A caller that says ``inline`` counts a stale number
itself (tests, or a number that must not lag: none yet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Recount:
    """One number, counted as the module docstring says; ``name`` names its thread and its log
    lines."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self.last: tuple[float, int] | None = None  # (monotonic time, the count)
        self.running = False  # a recount on its thread

    def get(self, count: Callable[[], int], ttl: float, *, inline: bool = False) -> int:
        """The count: the last while younger than ``ttl`` seconds or while a recount runs; else
        counted now by the caller (the first time, or ``inline``: ``count``'s errors are the
        caller's), or on a thread while the caller takes the last."""
        with self._lock:
            last = self.last
            if last is not None and (self.running or time.monotonic() - last[0] < ttl):
                return last[1]
            behind = last is not None and not inline
            if behind:
                self.running = True
        if last is None or not behind:
            value = count()
            self.last = (time.monotonic(), value)
            return value
        threading.Thread(target=self._recount, args=(count,), name=self._name, daemon=True).start()
        return last[1]

    def _recount(self, count: Callable[[], int]) -> None:
        try:
            self.last = (time.monotonic(), count())
        except Exception:  # the last count stands; the next stale call tries again
            log.exception("%s: cannot count", self._name)
        finally:
            self.running = False
