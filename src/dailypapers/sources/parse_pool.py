"""Read and parse a JSON-lines import file in batches, in this process or in child processes.

Parsing a line (JSON, normalisation, link extraction) costs about as much as writing it to the
database, so for a big file a child process reads and parses while the caller writes: on two cores
the two halves overlap. With more cores several children share the parsing, each reading the whole
file but parsing only its own share of the batches (every second one, for two). Batches come back
in file order with the bad lines and the bytes they covered, so the caller reports errors and
progress exactly as it would for an in-process parse.

A child is a fresh interpreter (no fork of a process that may hold database connections or threads,
and unlike multiprocessing's ``spawn`` it never re-imports the caller's main script). It gets this
process's import path, the file's path and the parse function pickled on stdin and writes each batch
to stdout as a length-prefixed :mod:`marshal` frame of plain tuples (several times cheaper than
pickling dataclasses and dates). Marshal writes no NamedTuples: those (the import's
:class:`~dailypapers.sources.arxiv.records.FlatRow`) cross as plain tuples with their class named
once per frame, and are made again on this side (``_make``, well under 1 µs a row). The children
stop when the caller stops reading.
"""

from __future__ import annotations

import gc
import marshal
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from dailypapers.cpus import usable_cpus
from dailypapers.sources.arxiv.listing import MalformedRecord
from dailypapers.sources.files import ImportFileError, check_readable, iter_lines

T = TypeVar("T")

BATCH_SIZE = 1000
# Below this size the children's start-up (~0.1 s) costs more than the overlap saves.
BACKGROUND_MIN_BYTES = 16 * 1024 * 1024
# Parsing children: None = one on two CPUs (writer and parser each get a core; a second parser
# measured slower there), two from three CPUs up.
PARSERS: int | None = None


@dataclass(slots=True)
class ParsedBatch(Generic[T]):
    """Consecutive lines of a file: what they parsed to, the bad lines, the bytes read."""

    records: list[T] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    size: int = 0


def parse_file(
    path: Path,
    parse: Callable[[bytes], T],
    *,
    batch_size: int | None = None,
    background: bool | None = None,
) -> Iterator[ParsedBatch[T]]:
    """Yield the file's lines parsed, ``batch_size`` (default :data:`BATCH_SIZE`) lines at a time.

    ``background=None`` parses in child processes when the file is big and a second CPU is there.
    For that, ``parse`` must be picklable (a module-level function or a ``functools.partial`` of
    one) and return what :mod:`marshal` can write, or NamedTuples of such values (one class for
    all lines), such as :func:`~dailypapers.sources.arxiv.records.parse_flat` gives. A file that cannot be read raises
    :class:`ImportFileError` (after the batches before the damage); a line that ``parse`` rejects
    with :class:`MalformedRecord` lands in ``bad``.
    """
    check_readable(path)
    batch_size = batch_size or BATCH_SIZE
    if background is None:
        background = (
            bool(sys.executable)
            and usable_cpus() >= 2
            and path.stat().st_size >= BACKGROUND_MIN_BYTES
        )
    if background:
        parsers = PARSERS or (1 if usable_cpus() <= 2 else 2)
        yield from _parse_in_children(path, parse, batch_size, parsers)
    else:
        yield from _parse_here(path, parse, batch_size)


def _parse_here(
    path: Path, parse: Callable[[bytes], T], batch_size: int, worker: int = 0, workers: int = 1
) -> Iterator[ParsedBatch[T]]:
    """Batches number ``worker``, ``worker + workers``, ... of the file (all when one worker)."""
    batch: ParsedBatch[T] = ParsedBatch()
    mine = worker == 0
    lines = 0
    index = 0
    for number, line in iter_lines(path):
        if mine:
            batch.size += len(line)
            try:
                batch.records.append(parse(line))
            except MalformedRecord as exc:
                batch.bad.append((number, str(exc)))
        lines += 1
        if lines == batch_size:
            if mine:
                yield batch
                batch = ParsedBatch()
            lines = 0
            index += 1
            mine = index % workers == worker
    if mine and lines:
        yield batch


# --- the children and their wire format ----------------------------------------------------------

_OK, _FILE_ERROR, _CRASH = "ok", "file-error", "crash"
_FRAME = struct.Struct("<Q")
_BOOTSTRAP = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from dailypapers.sources.parse_pool import _child_main; _child_main()"
)


def _child_main() -> None:
    """Child process: read the job from stdin, write its batches to stdout, then an end mark."""
    gc.disable()  # parsing makes no reference cycles; the collector only costs time here
    out = sys.stdout.buffer
    try:
        path, parse, batch_size, worker, workers = pickle.load(sys.stdin.buffer)
        try:
            for batch in _parse_here(path, parse, batch_size, worker, workers):
                _send(out, (_OK, *to_wire(batch.records), batch.bad, batch.size))
            _send(out, (_OK, None, None, [], 0))
        except ImportFileError as exc:
            _send(out, (_FILE_ERROR, str(exc), None, [], 0))
        except Exception:  # reported to the parent, which raises it
            _send(out, (_CRASH, traceback.format_exc(), None, [], 0))
    except BrokenPipeError:  # the parent stopped reading: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def to_wire(records: list[Any]) -> tuple[list[Any], bytes | None]:
    """Records as :mod:`marshal` writes them, and the NamedTuple class to make them again (pickled:
    by name), or None when they cross as they are."""
    kind = type(records[0]) if records else tuple
    if kind is tuple or not issubclass(kind, tuple):
        return records, None
    return list(map(tuple, records)), pickle.dumps(kind)


def from_wire(records: list[Any], kind: bytes | None) -> list[Any]:
    """The records :func:`to_wire` sent, made again."""
    return records if kind is None else list(map(_row_class(kind)._make, records))


@lru_cache(maxsize=8)
def _row_class(kind: bytes) -> Any:
    return pickle.loads(kind)


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    """One frame, written to the pipe's descriptor until every byte is sent. (Through the
    buffered ``sys.stdout.buffer``, a write that a stop and continue — Ctrl-Z, ``fg`` — cut
    short left its frame damaged, and the parent read "bad marshal data": tests/test_parse_pool.py.)"""
    data = marshal.dumps(message)
    view = memoryview(_FRAME.pack(len(data)) + data)
    fd = out.fileno()
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from a raw pipe, or None at its end (plain os.read: no buffered-IO lock
    that a reader thread could hold while the interpreter shuts down)."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    header = _read_exact(fd, _FRAME.size)
    if header is None:
        return None
    (length,) = _FRAME.unpack(header)
    return _read_exact(fd, length)


class _Drain:
    """Reads a child's frames on a thread as they come, so the child never waits on a full pipe
    while this process is busy writing to the database (up to ``depth`` frames ahead)."""

    def __init__(self, stream: IO[bytes], depth: int = 4) -> None:
        self.frames: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, args=(stream.fileno(),), daemon=True)
        self.thread.start()

    def _run(self, fd: int) -> None:
        try:
            while (frame := _read_frame(fd)) is not None:
                self.frames.put(frame)
        except (OSError, ValueError):  # the stream was closed under us: the import is over
            pass
        self.frames.put(None)

    def close(self) -> None:
        """Wait for the reader to finish, taking the frames nobody will use off its hands."""
        while self.thread.is_alive():
            try:
                self.frames.get(timeout=0.05)
            except queue.Empty:
                pass

    def receive(self) -> tuple[Any, ...] | None:
        frame = self.frames.get()
        if frame is None:
            return None
        message: tuple[Any, ...] = marshal.loads(frame)
        return message


def _parse_in_children(
    path: Path, parse: Callable[[bytes], T], batch_size: int, workers: int
) -> Iterator[ParsedBatch[T]]:
    # Plain interpreters, given this process's import path first thing on stdin (as
    # multiprocessing does), so they import this very package.
    children: list[subprocess.Popen[bytes]] = []
    drains: list[_Drain] = []
    try:
        for worker in range(workers):
            child = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
            children.append(child)
            assert child.stdin is not None
            with child.stdin:
                pickle.dump(list(sys.path), child.stdin)
                pickle.dump((path, parse, batch_size, worker, workers), child.stdin)
        drains += [_Drain(child.stdout) for child in children if child.stdout is not None]
        index = 0
        while True:  # batch i comes from child i % workers: file order
            child = children[index % workers]
            message = drains[index % workers].receive()
            if message is None:
                raise RuntimeError(
                    f"{path}: a parsing process stopped unexpectedly "
                    f"(exit code {child.wait(timeout=10)})"
                )
            kind, payload, row_class, bad, size = message
            if kind == _FILE_ERROR:
                raise ImportFileError(payload)
            if kind == _CRASH:
                raise RuntimeError(f"{path}: parsing failed in the background:\n{payload}")
            if payload is None:
                break
            yield ParsedBatch(from_wire(payload, row_class), bad, size)
            index += 1
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()  # stopped early (an error here): a parser holds nothing to save
        for drain in drains:
            drain.close()
        for child in children:
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
