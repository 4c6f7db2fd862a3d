"""Write transactions on several PostgreSQL connections at once, committed in order.

A bulk first import into PostgreSQL spends most of its time in the server (each paper's stemmed
``tsvector`` is computed as its row is written, migration 0006), one batch after another on one
connection, while the client waits. :func:`ordered_batches` hands the batches to ``writers``
connections, so the server works on two batches while the client prepares the next one, yet keeps
what the single-connection path guarantees to everything that reads the table meanwhile:

- **ids in batch order**: a batch takes its ids from the sequence only after the batch before it
  took its own (the ``ids`` turn), and
- **commits in batch order** (the ``commit`` turn): a reader never sees a batch before the one
  before it, so the author index's watermark (:mod:`dailypapers.db.author_index`: every id up to
  the highest indexed one is indexed) is never passed by a committed batch while a lower one is
  still open.
- **the change counters** (:mod:`dailypapers.db.changes`, and ``papers`` for
  :mod:`dailypapers.db.id_cache`) are bumped right after each commit, in a transaction of its
  own: the triggers' bump inside each batch would make two open batches wait for each other's
  row of ``data_changes`` (one of them waiting here for its commit turn: a deadlock the server
  cannot see). A page read between the commit and the bump is kept under the
  old number and dropped at the bump, as after any write.

Rows repeated in batches that may be open together must not be written by both (one would wait
for the other's row, the other for its commit turn): :func:`apart` names them, for the caller to
write afterwards; a lock timeout guards against another process's writer doing the same.

If one batch fails, the batches after it are rolled back and the error is raised; the batches
before it stay committed (as on one connection: one transaction per batch). If ``batches`` itself
fails (a damaged file), the batches it gave before are committed and yielded, then its error is
raised.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, text

T = TypeVar("T")
R = TypeVar("R")
CHANGE_SLOTS = 16  # rows of data_changes (migration 0006)
_SKIP_TRIGGER_BUMP = (  # both counters' triggers (migrations 0006 and 0016)
    "SELECT set_config('dailypapers.changes_bumped', 'yes', true), "
    "set_config('dailypapers.paper_changes_bumped', 'yes', true)"
)
_BUMP = (
    "UPDATE data_changes SET version = version + 1, papers = papers + 1 "
    f"WHERE slot = (txid_current() % {CHANGE_SLOTS})::integer"
)

# A safety net: a batch waiting this long for a row lock is stuck behind another writer's open
# transaction that waits for one of ours (a cycle through this process the server cannot see).
_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', '60s', true)"

IdsTurn = Callable[[], AbstractContextManager[None]]


class Aborted(RuntimeError):
    """Another batch failed: this one is rolled back."""


class _Turns:
    """Numbered turns (``ids``, ``commit``): batch k waits until batch k-1 has had its turn."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = {"ids": 0, "commit": 0}
        self.failed = False

    @contextmanager
    def turn(self, name: str, number: int) -> Iterator[None]:
        with self._cond:
            while self._next[name] != number and not self.failed:
                self._cond.wait()
            if self._next[name] != number:
                raise Aborted("another batch failed")
        try:
            yield
        except BaseException:
            self.fail()
            raise
        with self._cond:
            self._next[name] = number + 1
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self.failed = True
            self._cond.notify_all()


def apart(
    batches: Iterable[list[T]], key: Callable[[T], object], window: int
) -> Iterator[tuple[list[T], set[object]]]:
    """Each batch with the keys of its items that one of the ``window`` batches before has: with
    ``window`` at least the number of writers, a batch that leaves those out never waits for a row
    of a batch that may still be open (and so perhaps waiting for its own commit turn)."""
    recent: deque[set[object]] = deque(maxlen=window)
    for batch in batches:
        keys = {key(item) for item in batch}
        yield batch, {k for k in keys if any(k in before for before in recent)}
        recent.append(keys)


def regroup(groups: Iterable[list[T]], key: Callable[[T], object], size: int) -> Iterator[list[T]]:
    """The non-empty groups, each joined to the one before while their keys are apart and the
    whole is at most ``size`` (so items of one key are never merged across groups)."""
    joined: list[T] = []
    keys: set[object] = set()
    for group in groups:
        mine = {key(item) for item in group}
        if joined and (len(joined) + len(group) > size or not keys.isdisjoint(mine)):
            yield joined
            joined, keys = [], set()
        joined += group
        keys |= mine
    if joined:
        yield joined


def ordered_batches(
    engine: Engine,
    batches: Iterable[T],
    work: Callable[[Connection, T, IdsTurn], R],
    *,
    writers: int = 2,
) -> Iterator[R]:
    """``work(conn, batch, ids_turn)`` for each batch, in a transaction of its own on one of
    ``writers`` connections, committed in batch order; yields the results in batch order.

    ``work`` takes new ids only inside ``with ids_turn():`` (once at most) and never commits.
    """
    turns = _Turns()

    def one(number: int, batch: T) -> R:
        try:
            with engine.connect() as conn:
                conn.execute(text(_SKIP_TRIGGER_BUMP))
                conn.execute(text(_LOCK_TIMEOUT))
                taken: list[bool] = []

                @contextmanager
                def ids_turn() -> Iterator[None]:
                    taken.append(True)
                    with turns.turn("ids", number):
                        yield

                result = work(conn, batch, ids_turn)
                if not taken:  # the next batch waits for this one's turn
                    with turns.turn("ids", number):
                        pass
                with turns.turn("commit", number):
                    conn.commit()
                    conn.execute(text(_BUMP))
                    conn.commit()
                return result
        except BaseException:
            turns.fail()
            raise

    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="ordered-writes") as pool:
        running: deque[Future[R]] = deque()
        source_error: Exception | None = None
        try:
            source = iter(batches)
            for number in itertools.count():
                try:
                    batch = next(source)
                except StopIteration:
                    break
                except Exception as error:  # the batches read before it are whole: they commit
                    source_error = error
                    break
                running.append(pool.submit(one, number, batch))
                while len(running) > writers:
                    yield running.popleft().result()
            while running:
                yield running.popleft().result()
        except BaseException as error:
            turns.fail()
            for future in running:
                future.cancel()
            if isinstance(error, Aborted):  # raise the failure that aborted it instead
                for future in running:
                    if not future.cancelled():
                        cause = future.exception()
                        if cause is not None and not isinstance(cause, Aborted):
                            raise cause from None
            raise
    if source_error is not None:
        raise source_error
