"""The one clock every stored timestamp is read from: naive UTC.

Timestamps are stored without a zone (SQLite has no zone-aware type), always in UTC. Functions that
need "now" take an optional ``now`` argument defaulting to :func:`utcnow`, so tests pass a fixed one.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, the way every timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)
