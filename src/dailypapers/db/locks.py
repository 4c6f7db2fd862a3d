"""Named leases in the database, so one process at a time does a job across a whole instance.

arXiv allows one connection and one request every 3 seconds from all machines together, so the
harvester takes the ``arxiv`` lease before its first request. A lease expires ``lease_s`` after its
last renewal, so a crashed holder blocks the others for at most that long. The lease row also
records the time of the last arXiv request, so the pacing survives a hand-over between processes.
Times are epoch seconds from an injected clock (tests use a fake one). Each function is its own
short transaction on the engine: a lease or a request slot must be seen by the other processes at
once, never wait for a caller's commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from dailypapers.db.models import Lock


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    holder: str | None
    acquired_at: float | None
    expires_at: float | None


def _ensure_row(engine: Engine, name: str) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(insert(Lock).values(name=name))
    except IntegrityError:
        pass  # the row exists already


def acquire(engine: Engine, name: str, holder: str, *, now: float, lease_s: float) -> bool:
    """Take the lease if it is free, expired or already ours; True when we hold it now."""
    _ensure_row(engine, name)
    with engine.begin() as conn:
        taken = conn.execute(
            update(Lock)
            .where(
                Lock.name == name,
                (Lock.holder.is_(None)) | (Lock.expires_at < now) | (Lock.holder == holder),
            )
            .values(holder=holder, acquired_at=now, expires_at=now + lease_s)
        )
        return taken.rowcount == 1


def renew(engine: Engine, name: str, holder: str, *, now: float, lease_s: float) -> bool:
    """Extend our lease; False when it was lost (expired and taken by another process)."""
    with engine.begin() as conn:
        kept = conn.execute(
            update(Lock)
            .where(Lock.name == name, Lock.holder == holder)
            .values(expires_at=now + lease_s)
        )
        return kept.rowcount == 1


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Lock)
            .where(Lock.name == name, Lock.holder == holder)
            .values(holder=None, expires_at=None)
        )


def info(engine: Engine, name: str) -> LeaseInfo:
    with engine.connect() as conn:
        row = conn.execute(
            select(Lock.holder, Lock.acquired_at, Lock.expires_at).where(Lock.name == name)
        ).first()
    return LeaseInfo(*row) if row else LeaseInfo(None, None, None)


def next_request_slot(engine: Engine, name: str, *, now: float, delay_s: float) -> float:
    """Reserve the next request time (≥ last request + delay); returns seconds to wait first.

    One ``UPDATE ... RETURNING``: the read of the last slot and the write of the next are one
    statement, so two processes (or hosts) asking at once always get slots ``delay_s`` apart.
    """
    last = Lock.last_request_at
    slot = case((last.is_(None) | (last + delay_s < now), now), else_=last + delay_s)
    with engine.begin() as conn:
        reserved = conn.execute(
            update(Lock).where(Lock.name == name).values(last_request_at=slot).returning(last)
        ).scalar_one_or_none()
    return 0.0 if reserved is None else max(0.0, float(reserved) - now)


def expired(engine: Engine, prefix: str, *, now: float) -> list[str]:
    """Names starting with ``prefix`` whose holder stopped renewing: its process died (or hung
    past its lease) in the middle of the work the lease covers."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                select(Lock.name)
                .where(Lock.name.startswith(prefix, autoescape=True))
                .where(Lock.holder.is_not(None), Lock.expires_at < now)
                .order_by(Lock.name)
            )
        )


def expire(engine: Engine, name: str, holder: str, *, now: float) -> None:
    """Keep our lease's row but let it lapse now: the work is not done and anyone may take it up."""
    with engine.begin() as conn:
        conn.execute(
            update(Lock).where(Lock.name == name, Lock.holder == holder).values(expires_at=now)
        )


def forget(engine: Engine, name: str, holder: str) -> None:
    """Delete our lease's row (a lease named after one run, e.g. a digest period, when done)."""
    with engine.begin() as conn:
        conn.execute(delete(Lock).where(Lock.name == name, Lock.holder == holder))
