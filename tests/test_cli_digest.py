"""``dailypapers digest send / preview / unsubscribe`` through Typer's runner, mail to aiosmtpd."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.config import Settings
from dailypapers.db.models import Subscription
from dailypapers.services.subscriptions import UNSUBSCRIBED, confirm, subscribe
from tests.helpers import add_papers, record
from tests.smtp_server import smtp_server

runner = CliRunner()


def _run(settings: Settings, *args: str, smtp_url: str = "") -> tuple[int, str, str]:
    env = {"DAILYPAPERS_SMTP_URL": smtp_url, "DAILYPAPERS_BASE_URL": "https://p.example.org"}
    result = runner.invoke(app, [*args, "--data-dir", str(settings.data_dir)], env=env)
    return result.exit_code, result.stdout, result.stderr


def _reader(engine: Engine, email: str = "reader@example.org") -> None:
    add_papers(engine, record("2506.30001", "2025-06-20", title="Deep nets, shallow thoughts"))
    with Session(engine) as session, session.begin():
        confirm(session, subscribe(session, email).subscription)


def test_send_dry_run_then_send_then_nothing_left(settings: Settings, engine: Engine) -> None:
    _reader(engine)
    with smtp_server() as smtp:
        code, out, _ = _run(settings, "digest", "send", "--dry-run", smtp_url=smtp.url)
        assert code == 0 and "daily digest 2025-06-20: would send 1" in out and smtp.raw == []
        code, out, _ = _run(settings, "digest", "send", smtp_url=smtp.url)
        assert code == 0 and "sent 1," in out and smtp.recipients() == ["reader@example.org"]
        code, out, _ = _run(settings, "digest", "send", "--date", "2025-06-20", smtp_url=smtp.url)
        assert code == 0 and "sent 0," in out and len(smtp.raw) == 1
        code, out, _ = _run(settings, "digest", "send", "--period", "weekly", smtp_url=smtp.url)
        assert code == 0 and "weekly digest 2025-W25: sent 0, 0 empty" in out  # a daily reader


def test_send_with_the_server_down_exits_1(settings: Settings, engine: Engine) -> None:
    _reader(engine)
    code, out, _ = _run(settings, "digest", "send", smtp_url="smtp://127.0.0.1:9")
    assert code == 1 and "stopped early: could not connect to 127.0.0.1:9" in out


def test_send_with_an_uncertain_mail_exits_1_and_names_its_message_id(
    settings: Settings, engine: Engine
) -> None:
    _reader(engine)
    with smtp_server() as smtp:
        smtp.replies = ["accept-close"]  # kept, then the connection dropped before the 250
        code, out, err = _run(settings, "digest", "send", smtp_url=smtp.url)
        assert code == 1 and "sent 0," in out and "1 uncertain" in out
        assert "Message-ID <" in err and len(smtp.raw) == 1
        code, out, err = _run(settings, "digest", "send", smtp_url=smtp.url)
        assert code == 0 and "1 interrupted by an earlier run (not sent again)" in out
        assert "Message-ID <" in err and len(smtp.raw) == 1


def test_preview_prints_or_writes_the_mail(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    _reader(engine)
    code, out, _ = _run(settings, "digest", "preview", "Reader@Example.org")
    assert code == 0 and "Subject: " in out and "List-Unsubscribe-Post" in out
    assert "Deep nets, shallow thoughts" in out and "--- HTML part ---" in out
    html, eml = tmp_path / "d.html", tmp_path / "d.eml"
    assert _run(settings, "digest", "preview", "reader@example.org", "--output", str(html))[0] == 0
    assert "https://p.example.org/papers/2506.30001" in html.read_text()
    assert _run(settings, "digest", "preview", "reader@example.org", "--output", str(eml))[0] == 0
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "reader@example.org" and message.is_multipart()


def test_bad_input_is_one_line_and_exit_2(settings: Settings, engine: Engine) -> None:
    _reader(engine)
    for args, message in [
        (["digest", "preview", "nobody@example.org"], "no subscription for 'nobody@example.org'"),
        (["digest", "preview", "not an address"], "is not a valid email address"),
        (["digest", "send", "--period", "hourly"], "neither daily nor weekly"),
        (["digest", "send", "--date", "2025-13-01"], "--date: invalid date"),
        (["digest", "unsubscribe", "nobody@example.org"], "no subscription"),
    ]:
        code, _, err = _run(settings, *args)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
    code, _, err = _run(settings, "digest", "preview", "reader@example.org", "--date", "2025-06-21")
    assert code == 1 and "2025-06-21 had no announcements" in err
    with Session(engine) as session:
        sub = session.scalars(select(Subscription)).one()
        sub.trending, sub.categories = False, "math.AG"
        session.commit()
    code, _, err = _run(settings, "digest", "preview", "reader@example.org")
    assert code == 1 and "would be empty for reader@example.org" in err


def test_unsubscribe_by_address(settings: Settings, engine: Engine) -> None:
    _reader(engine)
    code, out, _ = _run(settings, "digest", "unsubscribe", "READER@example.org")
    assert code == 0 and "reader@example.org: unsubscribed" in out
    with Session(engine) as session:
        assert session.scalar(select(Subscription.status)) == UNSUBSCRIBED
