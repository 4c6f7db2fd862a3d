"""Crash points: where the tests that kill a worker mid-job make it die, at an exact moment.

``DAILYPAPERS_TEST_CRASH_AT=NAME[:N]`` in a process's environment makes the N-th (default first)
:func:`crash_point` of that name kill the process with SIGKILL: no ``finally``, no rollback, no
lease released, as when the machine loses power. Unset (always, outside those tests), a crash
point is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV = "DAILYPAPERS_TEST_CRASH_AT"
_reached: Counter[str] = Counter()
_lock = threading.Lock()


def crash_point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    with _lock:
        _reached[name] += 1
        reached = _reached[name]
    if reached == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
