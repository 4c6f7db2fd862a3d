"""Exactly once across a crash: a real ``dailypapers digest send`` process is killed with SIGKILL
while its 300th mail is being accepted (the worst moment: the server has it, the sender has not
heard the 250), then run again; every one of 1,000 subscribers has exactly one digest."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import DigestDelivery, Subscription
from tests.helpers import add_papers, record
from tests.smtp_server import ScriptedSmtp, smtp_server

SUBSCRIBERS = 1000
KILL_AT = 300
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


def _send(settings: Settings, smtp: ScriptedSmtp, cwd: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "DAILYPAPERS_DATA_DIR": str(settings.data_dir),
        "DAILYPAPERS_SMTP_URL": smtp.url,
        "DAILYPAPERS_BASE_URL": "https://papers.example.org",
    }
    command = [sys.executable, "-m", "dailypapers", "digest", "send", "--date", "2025-06-20"]
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.scalars(select(DigestDelivery.status)))


def test_a_killed_run_and_its_rerun_send_each_digest_exactly_once(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    add_papers(
        engine,
        record("2506.20001", "2025-06-20", title="Listening tokens", categories=["cs.CL"]),
        record("2506.20002", "2025-06-20", title="Folding robots", categories=["cs.RO"]),
    )
    _subscribers(engine)
    with smtp_server(ScriptedSmtp(kill_at=KILL_AT)) as smtp:
        first = _send(settings, smtp, tmp_path)
        smtp.victim = first.pid  # long before its first mail: the interpreter is still starting
        output, _ = first.communicate(timeout=120)
        assert first.returncode == -signal.SIGKILL, output
        assert len(smtp.raw) == KILL_AT
        assert _statuses(engine) == {"sent": KILL_AT - 1, "sending": 1}

        second = _send(settings, smtp, tmp_path)
        output, _ = second.communicate(timeout=120)
        assert second.returncode == 0, output
        assert f"sent {SUBSCRIBERS - KILL_AT}," in output
        assert "1 interrupted by an earlier run (not sent again)" in output

    per_reader = Counter(smtp.recipients())
    assert len(per_reader) == SUBSCRIBERS and set(per_reader.values()) == {1}
    assert _statuses(engine) == {"sent": SUBSCRIBERS - 1, "sending": 1}
