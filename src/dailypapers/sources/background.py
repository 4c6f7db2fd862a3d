"""Read and parse a JSON-lines import file in batches, in this process or in a second one.

Parsing a line (JSON, normalisation, link extraction) costs about as much as writing it to the
database, so for a big file a child process reads and parses while the caller writes: on two cores the
two halves overlap. Batches come back in file order with the bad lines and the bytes they covered, so
the caller reports errors and progress exactly as it would for an in-process parse.

The child is a fresh interpreter (no fork of a process that may hold database connections or
threads, and unlike multiprocessing's ``spawn`` it never re-imports the caller's main script). It
gets the path and the parse function pickled on stdin and writes each batch to stdout as a
length-prefixed :mod:`marshal` frame of plain tuples (several times cheaper than pickling
dataclasses and dates). It stops when the caller stops reading.
"""

from __future__ import annotations

import gc
import marshal
import os
import pickle
import struct
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from dailypapers.sources.arxiv.listing import MalformedRecord
from dailypapers.sources.files import ImportFileError, check_readable, iter_lines

T = TypeVar("T")

BATCH_SIZE = 1000
# Below this size the child's start-up (~0.1 s) costs more than the overlap saves.
BACKGROUND_MIN_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class ParsedBatch(Generic[T]):
    """Consecutive lines of a file: what they parsed to, the bad lines, the bytes read."""

    records: list[T] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    size: int = 0


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parse_file(
    path: Path,
    parse: Callable[[bytes], T],
    *,
    batch_size: int | None = None,
    background: bool | None = None,
) -> Iterator[ParsedBatch[T]]:
    """Yield the file's lines parsed, ``batch_size`` (default :data:`BATCH_SIZE`) lines at a time.

    ``background=None`` parses in a child process when the file is big and a second CPU is there.
    For that, ``parse`` must be picklable (a module-level function or a ``functools.partial`` of
    one) and return what :mod:`marshal` can write — plain tuples, such as
    :func:`~dailypapers.sources.arxiv.records.parse_flat` gives. A file that cannot be read raises
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
        yield from _parse_in_child(path, parse, batch_size)
    else:
        yield from _parse_here(path, parse, batch_size)


def _parse_here(
    path: Path, parse: Callable[[bytes], T], batch_size: int
) -> Iterator[ParsedBatch[T]]:
    batch: ParsedBatch[T] = ParsedBatch()
    for number, line in iter_lines(path):
        batch.size += len(line)
        try:
            batch.records.append(parse(line))
        except MalformedRecord as exc:
            batch.bad.append((number, str(exc)))
        if len(batch.records) + len(batch.bad) >= batch_size:
            yield batch
            batch = ParsedBatch()
    if batch.records or batch.bad or batch.size:
        yield batch


# --- the child process and its wire format -------------------------------------------------------

_OK, _FILE_ERROR, _CRASH = "ok", "file-error", "crash"
_FRAME = struct.Struct("<Q")


_BOOTSTRAP = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from dailypapers.sources.background import _child_main; _child_main()"
)


def _child_main() -> None:
    """Child process: read ``(path, parse, batch_size)`` from stdin, write batches to stdout."""
    gc.disable()  # parsing makes no reference cycles; the collector only costs time here
    out = sys.stdout.buffer
    try:
        path, parse, batch_size = pickle.load(sys.stdin.buffer)
        try:
            for batch in _parse_here(path, parse, batch_size):
                _send(out, (_OK, batch.records, batch.bad, batch.size))
            _send(out, (_OK, None, [], 0))
        except ImportFileError as exc:
            _send(out, (_FILE_ERROR, str(exc), [], 0))
        except Exception:  # reported to the parent, which raises it
            _send(out, (_CRASH, traceback.format_exc(), [], 0))
    except BrokenPipeError:  # the parent stopped reading: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    data = marshal.dumps(message)
    out.write(_FRAME.pack(len(data)))
    out.write(data)
    out.flush()


def _receive(stream: IO[bytes]) -> tuple[Any, ...] | None:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        return None
    (length,) = _FRAME.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        return None
    message: tuple[Any, ...] = marshal.loads(data)
    return message


def _parse_in_child(
    path: Path, parse: Callable[[bytes], T], batch_size: int
) -> Iterator[ParsedBatch[T]]:
    # A plain interpreter, given this process's import path first thing on stdin (as
    # multiprocessing does), so it imports this very package.
    process = subprocess.Popen(
        [sys.executable, "-c", _BOOTSTRAP], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        with process.stdin:
            pickle.dump(list(sys.path), process.stdin)
            pickle.dump((path, parse, batch_size), process.stdin)
        while True:
            message = _receive(process.stdout)
            if message is None:
                raise RuntimeError(
                    f"{path}: the parsing process stopped unexpectedly "
                    f"(exit code {process.wait(timeout=10)})"
                )
            kind, payload, bad, size = message
            if kind == _FILE_ERROR:
                raise ImportFileError(payload)
            if kind == _CRASH:
                raise RuntimeError(f"{path}: parsing failed in the background process:\n{payload}")
            if payload is None:
                break
            yield ParsedBatch(payload, bad, size)
    finally:
        process.stdout.close()  # a child still writing gets a broken pipe and stops
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
