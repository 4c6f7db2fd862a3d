"""Read JSON-lines import files, plain or gzip-compressed, line by line with line numbers."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path


class ImportFileError(Exception):
    """A file that cannot be read at all (missing, a directory, broken gzip); one clear sentence."""


def check_readable(path: Path) -> None:
    """Raise :class:`ImportFileError` unless ``path`` is a readable regular file."""
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if path.is_dir():
        raise ImportFileError(f"{path}: is a directory, not a file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc.strerror})") from None


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` for non-blank lines; ``.gz`` detected by its magic bytes."""
    check_readable(path)
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.isspace():
                    yield number, line
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportFileError(f"{path}: unreadable gzip data ({exc})") from None
