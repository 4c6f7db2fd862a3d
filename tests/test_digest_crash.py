"""Never twice, and nothing lost silently, across a crash: a real ``dailypapers digest send`` process
is killed with SIGKILL at its 60th mail, at each step of it, then run again; every one of the 200
subscribers ends with exactly one digest.

- at MAIL (the digest is claimed, nothing sent) and at DATA (before the server's 354): the ledger
  row is ``claimed``; a run a minute later takes it over and sends it;
- when the whole message arrived but the server had not kept it yet, and after the server kept
  it (before the 250 reached the sender: the worst moment): the row is ``sending``, whether the
  server has the message is unknown, so no run sends it again by itself; it is reported as
  interrupted, and ``--resend-interrupted`` (after checking the mail server's log: here it does not
  have the first one) sends it."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import DigestDelivery, Subscription
from dailypapers.digest.send import CLAIM_TIMEOUT_S
from tests.helpers import add_papers, record
from tests.smtp_server import ScriptedSmtp, smtp_server

SUBSCRIBERS = 200
KILL_AT = 60
SRC = Path(__file__).resolve().parents[1] / "src"


def _subscribers(engine: Engine) -> None:
    rows = [
        {
            "email": f"reader{n:04d}@example.org",
            "key": secrets.token_urlsafe(24),
            "status": "active",
            "frequency": "daily",
            "trending": True,
            "categories": "cs.CL" if n % 2 else "",
            "created_at": datetime(2025, 6, 1),
            "confirmed_at": datetime(2025, 6, 1),
        }
        for n in range(SUBSCRIBERS)
    ]
    with Session(engine) as session:
        session.execute(insert(Subscription), rows)
        session.commit()


def _send(
    settings: Settings, smtp: ScriptedSmtp, cwd: Path, *options: str
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "DAILYPAPERS_DATA_DIR": str(settings.data_dir),
        "DAILYPAPERS_SMTP_URL": smtp.url,
        "DAILYPAPERS_BASE_URL": "https://papers.example.org",
    }
    command = [sys.executable, "-m", "dailypapers", "digest", "send", "--date", "2025-06-20"]
    return subprocess.Popen(
        [*command, *options],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _run(settings: Settings, smtp: ScriptedSmtp, cwd: Path, *options: str) -> str:
    process = _send(settings, smtp, cwd, *options)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return output


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.scalars(select(DigestDelivery.status)))


def _a_minute_later(engine: Engine) -> None:
    """What waiting CLAIM_TIMEOUT_S does to the ledger: every claim is that much older."""
    with Session(engine) as session:
        session.execute(
            update(DigestDelivery).values(
                claimed_at=DigestDelivery.claimed_at - timedelta(seconds=CLAIM_TIMEOUT_S + 1)
            )
        )
        session.commit()


@pytest.mark.parametrize(
    ("kill_when", "left", "kept"),
    [
        ("mail", "claimed", 0),
        ("data", "claimed", 0),
        ("body", "sending", 0),
        ("accepted", "sending", 1),
    ],
)
def test_a_run_killed_at_any_step_and_run_again_leaves_each_digest_sent_exactly_once(
    settings: Settings, engine: Engine, tmp_path: Path, kill_when: str, left: str, kept: int
) -> None:
    add_papers(
        engine,
        record("2506.20001", "2025-06-20", title="Listening tokens", categories=["cs.CL"]),
        record("2506.20002", "2025-06-20", title="Folding robots", categories=["cs.RO"]),
    )
    _subscribers(engine)
    with smtp_server(ScriptedSmtp(kill_at=KILL_AT, kill_when=kill_when)) as smtp:
        first = _send(settings, smtp, tmp_path)
        smtp.victim = first.pid  # long before its first mail: the interpreter is still starting
        output, _ = first.communicate(timeout=120)
        assert first.returncode == -signal.SIGKILL, output
        assert len(smtp.raw) == KILL_AT - 1 + kept
        assert _statuses(engine) == {"sent": KILL_AT - 1, left: 1}

        _a_minute_later(engine)
        second = _run(settings, smtp, tmp_path)
        if left == "claimed":  # the server cannot have it: taken over and sent
            assert f"sent {SUBSCRIBERS - KILL_AT + 1}," in second
            assert "interrupted" not in second
        else:  # the server may have it: reported, never sent again by itself
            assert f"sent {SUBSCRIBERS - KILL_AT}," in second
            assert "1 interrupted by an earlier run (not sent again)" in second
            assert "Message-ID <" in second  # what to look for in the mail server's log
            if not kept:  # the operator found no trace of it in the server's log
                third = _run(settings, smtp, tmp_path, "--resend-interrupted")
                assert "sent 1," in third

    per_reader = Counter(smtp.recipients())
    assert len(per_reader) == SUBSCRIBERS and set(per_reader.values()) == {1}
    assert _statuses(engine) == (
        {"sent": SUBSCRIBERS - 1, "sending": 1} if kept else {"sent": SUBSCRIBERS}
    )
