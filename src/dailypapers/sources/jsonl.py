"""JSON decoding and encoding for import files: orjson when it is installed, else the standard library.

orjson parses a typical arXiv line about twice as fast as :mod:`json`, and it is stricter in ways
that only help an import: it rejects ``NaN``, numbers too big for 64 bits and lone UTF-16 surrogates
(text that the database could not store anyway). Both raise a :class:`ValueError` subclass.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None  # type: ignore[assignment]


def loads(data: str | bytes) -> Any:
    """Decode one JSON document; :class:`ValueError` for invalid JSON."""
    if orjson is not None:
        return orjson.loads(data)
    return json.loads(data)


def dumps(value: Any) -> str:
    """Compact JSON text (UTF-8, not ASCII-escaped) for storing a list or dict in a text column."""
    if orjson is not None:
        return orjson.dumps(value).decode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
