"""The filter catalogue (search/catalogue.py) on disk, so the web processes of a box share one copy.

Each web process used to build and keep its own catalogue: at 2.5 M papers ~0.8 GiB of arrays
(4-bit codes 458 MiB, sign bits 114, the broad categories' bit blocks up to 228, ids, days, the
id -> row table); a web process held 1.37-1.47 GiB of its own under a steady search load with
it, 0.70-0.74 GiB with the catalogue shared (``benchmarks/memory.py --size 2500k``,
docs/PERFORMANCE.md "Memory"). Now the first process that needs one builds it, writes
its arrays beside the vector index (``vectors/<model>/catalogue/<name>/*.npy``, then the header
``catalogue.json`` naming that folder, replaced atomically) and maps them read-only
(``numpy.load(mmap_mode="r")``); every other process maps the same files: one copy in the page
cache for the box, as with the vector index's file (vectors/mapped.py). The builder also reads
every category's rows for the files (a process that kept its own read a category's rows at its
first search of it, up to ~0.3 s at 2.5 M papers, once a process and again after each rebuild).

One process at a time reads or writes (an exclusive file lock, ``catalogue.lock``, held by the
building thread only): a process that comes second waits, then maps what the first wrote. A
rebuild (stale: too old or too many papers since; ``Catalogues.get``) writes a new folder and
removes the older ones; a process still mapping one keeps its pages (the files are unlinked, not
overwritten). A header that names another database or model, or files that cannot be read, are
rebuilt over, never an error for search. Only web processes with ``DAILYPAPERS_VECTOR_MMAP`` on
share (the default); otherwise each keeps its own, as before.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from dailypapers.search.catalogue import Catalogue

log = logging.getLogger(__name__)

HEADER = "catalogue.json"
FOLDER = "catalogue"
LOCK = "catalogue.lock"

Arrays = dict[str, NDArray[Any]]


@contextmanager
def held(folder: Path) -> Iterator[None]:
    """This process alone reads or writes ``folder``'s catalogue files (waits for another)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load(folder: Path, source: str) -> Catalogue | None:
    """The saved catalogue, its arrays mapped read-only, if the header names one of ``source``
    (the database and model) whose facts and files are all there; else None."""
    try:
        header = json.loads((folder / HEADER).read_text())
        if header.get("source") != source:
            return None
        saved = folder / FOLDER / str(header["name"])
        arrays = {name: np.load(saved / f"{name}.npy", mmap_mode="r") for name in header["arrays"]}
        return mapped(arrays, header)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("filter catalogue in %s not used (%r): building it again", folder, exc)
        return None


def write(folder: Path, source: str, arrays: Arrays, facts: dict[str, Any]) -> None:
    """Save ``arrays`` in a new folder, point the header at it, remove the older ones."""
    name = f"{facts.get('newest', 0)}-{time.time_ns()}"
    root = folder / FOLDER
    partial = root / f".{name}.partial"
    partial.mkdir(parents=True)
    for key, array in arrays.items():
        np.save(partial / f"{key}.npy", np.ascontiguousarray(array))
    partial.rename(root / name)
    header = {**facts, "source": source, "name": name, "arrays": sorted(arrays)}
    temporary = folder / f".{HEADER}.{os.getpid()}"
    temporary.write_text(json.dumps(header))
    temporary.replace(folder / HEADER)
    for old in root.iterdir():
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def arrays_of(catalogue: Catalogue) -> tuple[Arrays, dict[str, Any]]:
    """What is saved of a catalogue just built: its arrays (with the id -> row table and the
    categories read so far: their rows, and for the broad ones bits a row and blocks) and its
    facts."""
    arrays: Arrays = {"ids": catalogue.ids, "days": catalogue.days, "codes": catalogue.codes}
    arrays |= {"bits": catalogue.bits, "centre": catalogue.centre, "missing": catalogue.missing}
    arrays["row_of"] = catalogue._row_of()
    with catalogue.lock:
        categories = sorted(catalogue.categories)
        for n, category in enumerate(categories):
            arrays[f"rows{n}"] = catalogue.categories[category]
            if (member := catalogue.members.get(category)) is not None:
                arrays[f"member{n}"] = member
            if (block := catalogue.blocks.get(category)) is not None:
                arrays[f"block{n}"] = block
    built_at = time.time() - (time.monotonic() - catalogue.built)
    return arrays, {"newest": catalogue.newest, "vectors": catalogue.vectors,
                    "categories": categories, "built_at": built_at}  # fmt: skip


def mapped(arrays: Arrays, facts: dict[str, Any]) -> Catalogue:
    """A catalogue over saved arrays (read-only), as old as when it was built."""
    from dailypapers.search.catalogue import Catalogue  # (which imports this module)

    get = arrays.__getitem__
    age = max(0.0, time.time() - float(facts["built_at"]))
    found = Catalogue(get("ids"), get("days"), get("codes"), get("bits"), get("centre"),
                      get("missing"), int(facts["newest"]), int(facts["vectors"]),
                      built=time.monotonic() - age, row_of=get("row_of"))  # fmt: skip
    for n, category in enumerate(facts["categories"]):
        found.categories[category] = get(f"rows{n}")
        if f"member{n}" in arrays:
            found.members[category] = get(f"member{n}")
        if f"block{n}" in arrays:
            found.mapped_blocks[category] = get(f"block{n}")
    return found


def give_back_freed_memory() -> None:
    """Hand the heap pages a build freed back to the operating system (glibc's ``malloc_trim``):
    its rows read from the database (an id and a date a paper, as Python objects) are gone once
    the arrays are made, but their pages stayed with the process. No-op off glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
