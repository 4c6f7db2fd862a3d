"""The command line through Typer's runner: demo, init, import, and what bad input looks like."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dailypapers.cli import app

runner = CliRunner()

LINE = {
    "id": "2506.00010",
    "title": "A Title",
    "authors": ["A. Author"],
    "categories": ["cs.CL", "cs.LG"],
    "comment": "Code: https://github.com/example/repo.",
    "summary": "An abstract\nwith line breaks.",
}


def _write_listing(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "init", "import"):
        assert command in result.output
    assert "listing" in runner.invoke(app, ["import", "--help"]).output


def test_serve_workers_is_documented_and_checked(tmp_path: Path) -> None:
    assert "--workers" in runner.invoke(app, ["serve", "--help"]).output
    for bad in ("0", "many"):
        result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--workers", bad])
        assert result.exit_code == 2 and "--workers" in result.output, result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("host", "base_url", "warned"),
    [("0.0.0.0", "", True), ("127.0.0.1", "", False), ("0.0.0.0", "https://papers.example", False)],
)
def test_serve_warns_when_mails_are_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, base_url: str, warned: bool
) -> None:
    """On a reachable address without DAILYPAPERS_BASE_URL, one line says mails are off."""
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options["host"]))
    monkeypatch.setenv("DAILYPAPERS_JOBS_IN_WEB", "false")
    monkeypatch.setenv("DAILYPAPERS_BASE_URL", base_url)
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--host", host])
    assert result.exit_code == 0, result.output
    assert served == [host]  # uvicorn was not really started
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    if warned:
        assert warning == [
            f"warning: listening on {host} without DAILYPAPERS_BASE_URL: sign-in and digest "
            "mails are off until it is set (their links would otherwise come from the request's "
            "Host header)"
        ]
    else:
        assert warning == []


def test_settings_survive_the_hand_over_to_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dailypapers.config import Settings

    given = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "d",
        port=8123,
        jobs_in_web=False,
        site_name="Lab papers",
        _env_file=None,
    )
    for name, value in given.as_environment().items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None) == given.model_copy(update={"data_dir": tmp_path / "d"})  # type: ignore[call-arg]


def test_demo_loads_once_then_reuses(tmp_path: Path) -> None:
    first = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "loaded" in first.output and "sample papers" in first.output
    second = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(tmp_path)])
    assert second.exit_code == 0 and "reusing" in second.output
    assert (tmp_path / "dailypapers.db").exists()


def test_import_listing_reports_bad_lines_and_counts(tmp_path: Path) -> None:
    good = json.dumps(LINE)
    other = json.dumps({**LINE, "id": "2506.00011"})
    listing = _write_listing(
        tmp_path / "2025-06-20.jsonl",
        [good, "{not json", json.dumps({**LINE, "id": "bad id"}), "[1]", other],
    )
    result = runner.invoke(
        app, ["import", "listing", str(listing), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1
    assert f"{listing}:2: skipped" in result.output and f"{listing}:3: skipped" in result.output
    assert "2 new, 0 updated, 0 unchanged, 3 skipped" in result.output
    again = runner.invoke(
        app, ["import", "listing", str(listing), "--data-dir", str(tmp_path / "d")]
    )
    assert "0 new, 0 updated, 2 unchanged, 3 skipped" in again.output


def test_import_listing_with_date_option_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "listing.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(LINE) + "\n")
    no_date = runner.invoke(
        app, ["import", "listing", str(path), "--data-dir", str(tmp_path / "d")]
    )
    assert no_date.exit_code == 2 and "announce date" in no_date.output
    dated = runner.invoke(
        app,
        ["import", "listing", str(path), "--date", "2025-06-20", "--data-dir", str(tmp_path / "d")],
    )
    assert dated.exit_code == 0 and "1 new" in dated.output


@pytest.mark.parametrize("kind", ["missing", "directory", "truncated-gzip"])
def test_unreadable_files_exit_2_with_one_message(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "2025-06-20.jsonl.gz"
    if kind == "directory":
        target.mkdir()
    elif kind == "truncated-gzip":
        target.write_bytes(gzip.compress((json.dumps(LINE) + "\n").encode() * 200)[:120])
    for command in (["import", "listing"], ["import", "snapshot"]):
        result = runner.invoke(app, [*command, str(target), "--data-dir", str(tmp_path / "d")])
        assert result.exit_code == 2, result.output
        assert "error:" in result.output and "Traceback" not in result.output


def test_bad_date_option_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "listing", "x.jsonl", "--date", "June 1"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_import_snapshot(tmp_path: Path) -> None:
    snapshot = {
        "id": "0704.0001",
        "authors": "C. Bal\\'azs, E. L. Berger",
        "title": "Calculation of prompt diphoton production",
        "comments": "37 pages",
        "journal-ref": "Phys.Rev.D76:013009,2007",
        "doi": "10.1103/PhysRevD.76.013009",
        "categories": "hep-ph",
        "license": None,
        "abstract": "  A fully differential calculation.\n",
        "versions": [
            {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
            {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
        ],
        "update_date": "2008-11-26",
        "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""]],
    }
    path = _write_listing(tmp_path / "snap.jsonl", [json.dumps(snapshot), "garbage"])
    result = runner.invoke(
        app, ["import", "snapshot", str(path), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1 and "1 new" in result.output and "1 skipped" in result.output
    assert f"{path}:2: skipped" in result.output


def test_init_and_bad_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["init", "--data-dir", str(tmp_path)]).exit_code == 0
    monkeypatch.setenv("DAILYPAPERS_PORT", "not-a-port")
    result = runner.invoke(app, ["init", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "invalid settings" in result.output


@pytest.mark.parametrize(
    "args",
    [["serve"], ["serve", "--workers", "2"], ["demo"]],
    ids=["serve", "serve --workers 2", "demo"],
)
def test_a_busy_port_is_one_line_and_exit_code_2_before_serving(
    args: list[str], tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [*args, "--data-dir", str(tmp_path), "--host", "127.0.0.1", "--port", str(port)]
        result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: port {port} is in use — try --port ")
    suggested = int(lines[0].rsplit(" ", 1)[1])
    assert suggested > port
    assert "serving on" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "dailypapers.db").exists()  # the demo did not load first


def test_an_address_that_cannot_be_listened_on_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--data-dir", str(tmp_path), "--host", "192.0.2.1", "--port", "8000"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: cannot listen on 192.0.2.1:8000: ")
    assert len(result.output.strip().splitlines()) == 1
