"""``dailypapers users ...`` and ``submissions resolve`` through Typer's runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.db.engine import make_engine
from dailypapers.db.models import Submission
from dailypapers.services.accounts import add_user, user_for_api_token
from dailypapers.services.submissions import submit
from tests.fake_arxiv import fake_arxiv

runner = CliRunner()
API = Path(__file__).parent / "data" / "arxiv" / "arxiv-api" / "recorded-2026"


def _run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)], env=env)
    return result.exit_code, result.stdout, result.stderr


@contextmanager
def _db(data_dir: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{data_dir / 'dailypapers.db'}")
    try:
        with Session(engine) as session, session.begin():  # committed when the block ends
            yield session
    finally:
        engine.dispose()


def test_add_list_token_and_revoke(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "users", "list")
    assert code == 0 and "no accounts yet" in out
    code, out, _ = _run(
        tmp_path, "users", "add", "Root@Example.org", "--admin", "--name", "Site Admin"
    )
    assert code == 0 and "root@example.org: admin, shown as 'Site Admin'" in out
    code, out, err = _run(tmp_path, "users", "token", "root@example.org", "--name", "ci")
    assert code == 0 and "token 1 (ci)" in err
    raw = out.strip()
    assert raw.startswith("dp_") and "\n" not in raw
    with _db(tmp_path) as session:
        user = user_for_api_token(session, raw)
        assert user is not None and user.is_admin
    code, out, _ = _run(tmp_path, "users", "list")
    assert "root@example.org  'Site Admin'  admin  never signed in  tokens: 1 (ci)" in out
    assert raw not in out  # the token is shown once, never listed
    code, out, _ = _run(tmp_path, "users", "revoke", "1")
    assert code == 0 and "token 1 (ci) revoked" in out
    with _db(tmp_path) as session:
        assert user_for_api_token(session, raw) is None
    assert "tokens:" not in _run(tmp_path, "users", "list")[1]
    code, out, _ = _run(tmp_path, "users", "add", "root@example.org")  # drops the admin flag
    assert code == 0 and "root@example.org: user" in out


def test_user_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, message in [
        (("users", "add", "not an email"), "is not a valid email address"),
        (("users", "add", "a@b.c\r\nBcc: x@y.z"), "line breaks"),
        (("users", "add", "a@b.c", "--name", " "), "display name"),
        (("users", "token", "nobody@example.org"), "no account for 'nobody@example.org'"),
        (("users", "revoke", "42"), "there is no API token 42"),
    ]:
        code, out, err = _run(tmp_path, *args)
        assert code == 2, (args, out, err)
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _run(tmp_path, "users", "revoke", "x")[0] == 2  # typer's own check: not a number


def test_submissions_resolve_against_fake_arxiv(tmp_path: Path) -> None:
    assert "no pending submissions" in _run(tmp_path, "submissions", "resolve")[1]
    with _db(tmp_path) as session:
        ada = add_user(session, "ada@example.org")
        submit(session, ada, "1707.08567")
        submit(session, ada, "0808.05394")
    exchange = json.loads((API / "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json").read_text())
    with fake_arxiv() as fake:
        fake.add("/api/query", exchange["body"].encode("latin-1"))
        env = {
            "DAILYPAPERS_ARXIV_API_URL": fake.url + "/api/query",
            "DAILYPAPERS_ARXIV_DELAY_S": "0",
        }
        code, out, err = _run(tmp_path, "submissions", "resolve", env=env)
    assert code == 0, err
    assert "2 submissions resolved, 0 still pending" in out
    with _db(tmp_path) as session:
        states = dict(session.execute(select(Submission.arxiv_id, Submission.status)).all())
    assert states == {"1707.08567": "ready", "0808.05394": "missing"}


def test_help_names_the_new_commands() -> None:
    result = runner.invoke(app, ["users", "--help"])
    for command in ("add", "token", "revoke", "list"):
        assert command in result.output
    assert "resolve" in runner.invoke(app, ["submissions", "--help"]).output
