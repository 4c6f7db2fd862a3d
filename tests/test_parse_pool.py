"""Parsing a file in batches, in this process or in parser processes
(``sources/parse_pool.py``): order, bad lines, sizes, damaged files, a crashed parser.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from dailypapers.sources import parse_pool
from dailypapers.sources.arxiv.listing import parse_listing_line
from dailypapers.sources.arxiv.records import parse_flat
from dailypapers.sources.arxiv.snapshot import parse_snapshot_line
from dailypapers.sources.files import ImportFileError
from dailypapers.sources.parse_pool import parse_file
from tests.source_lines import BAD, DAY, LISTINGS, SNAPSHOT

# --- parsing in batches, here or in a second process ---------------------------------------------


@pytest.mark.parametrize("background", [False, True])
def test_parse_file_batches_bad_lines_and_sizes(background: bool) -> None:
    path = BAD / "snapshot-bad-lines.jsonl"
    parse = partial(parse_flat, parse_snapshot_line)
    batches = list(parse_file(path, parse, batch_size=3, background=background))
    rows = [row for batch in batches for row in batch.records]
    bad = [item for batch in batches for item in batch.bad]
    assert [row[0] for row in rows] == ["0704.0001", "0704.0002", "0704.0003"]
    assert [number for number, _ in bad] == [2, 3, 4, 6, 8]
    assert "invalid JSON" in bad[0][1]
    assert bad[1][1] == "expected a JSON object"
    assert bad[2][1] == "missing or empty 'title'"
    assert "not an arXiv id" in bad[3][1]
    assert sum(batch.size for batch in batches) == path.stat().st_size - 1  # the blank line
    assert [len(b.records) + len(b.bad) for b in batches] == [3, 3, 2]


@pytest.mark.parametrize("parsers", [1, 2, 3])
def test_parse_file_background_matches_in_process(
    parsers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_pool, "PARSERS", parsers)
    parse = partial(parse_flat, partial(parse_listing_line, announced_on=DAY))
    path = LISTINGS / "2025-03-18.jsonl.gz"
    here = list(parse_file(path, parse, batch_size=7, background=False))
    there = list(parse_file(path, parse, batch_size=7, background=True))
    assert here == there
    assert [len(batch.records) for batch in here] == [7, 7, 7, 7, 2]


@pytest.mark.parametrize("parsers", [2, 3])
def test_parse_file_several_parsers_keep_order_and_errors(
    parsers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_pool, "PARSERS", parsers)
    parse = partial(parse_flat, parse_snapshot_line)
    path = BAD / "snapshot-bad-lines.jsonl"
    assert list(parse_file(path, parse, batch_size=2, background=True)) == list(
        parse_file(path, parse, batch_size=2, background=False)
    )
    seen: list[str] = []
    with pytest.raises(ImportFileError, match="unreadable gzip"):
        for batch in parse_file(
            BAD / "snapshot-truncated.jsonl.gz", parse, batch_size=4, background=True
        ):
            seen.extend(row[0] for row in batch.records)
    assert len(seen) == 12  # three whole batches before the damage, in order
    head = [
        parse_snapshot_line(line).arxiv_id
        for line in gzip.decompress(SNAPSHOT.read_bytes()).splitlines()
    ]
    assert seen == head[:12]


def test_parse_file_background_truncated_gzip_after_good_batches() -> None:
    parse = partial(parse_flat, parse_snapshot_line)
    seen: list[str] = []
    with pytest.raises(ImportFileError, match="unreadable gzip"):
        for batch in parse_file(
            BAD / "snapshot-truncated.jsonl.gz", parse, batch_size=5, background=True
        ):
            seen.extend(row[0] for row in batch.records)
    assert seen and len(seen) % 5 == 0


def test_parse_file_background_reports_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"{}\n")
    # An error other than MalformedRecord is a bug: the caller gets the child's traceback.
    with pytest.raises(RuntimeError, match="(?s)parsing failed in the background.*ValueError"):
        list(parse_file(path, int, background=True))
    with pytest.raises(ValueError):
        list(parse_file(path, int, background=False))


def test_parse_file_stops_the_child_when_the_reader_stops() -> None:
    parse = partial(parse_flat, parse_snapshot_line)
    batches = parse_file(SNAPSHOT, parse, batch_size=1, background=True)
    first = next(batches)
    assert first.records[0][0] == "0704.0001"
    batches.close()  # must not hang or leave the child running


def test_parse_file_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        next(parse_file(tmp_path / "missing.jsonl", parse_snapshot_line))


def _children() -> list[int]:
    """This process's child processes (Linux: /proc)."""
    found: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            found += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_parsers_stopped_and_continued_lose_no_byte(tmp_path: Path) -> None:
    """Ctrl-Z and ``fg`` during an import stop and continue the parser processes: a write to the
    pipe cut short by the stop must still send its frame whole (through Python's buffered writer
    the parent read "bad marshal data"). Parsers stopped and continued all along."""
    lines = gzip.decompress(SNAPSHOT.read_bytes()).splitlines(keepends=True)
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(b"".join(lines * 100))  # 3,000 lines in frames of ~1 MB: many pipefuls
    parse = partial(parse_flat, parse_snapshot_line)
    here = list(parse_file(path, parse, batch_size=750, background=False))
    done = threading.Event()

    def pester() -> None:
        while not done.is_set():
            for pid in _children():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.005)
                    os.kill(pid, signal.SIGCONT)

    thread = threading.Thread(target=pester, daemon=True)
    thread.start()
    try:
        for _ in range(5):
            assert list(parse_file(path, parse, batch_size=750, background=True)) == here
    finally:
        done.set()
        thread.join()
        for pid in _children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
