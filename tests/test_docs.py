"""The README documents every setting and every command (fails when the docs fall behind)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from dailypapers.cli import app
from dailypapers.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(typer_app: typer.Typer, prefix: str = "dailypapers") -> list[str]:
    names = []
    for command in typer_app.registered_commands:
        names.append(f"{prefix} {command.name or command.callback.__name__}")  # type: ignore[union-attr]
    for group in typer_app.registered_groups:
        names += _commands(group.typer_instance, f"{prefix} {group.name}")  # type: ignore[arg-type]
    return names


def test_every_setting_is_in_the_readme() -> None:
    for name in Settings.model_fields:
        assert f"DAILYPAPERS_{name.upper()}" in README, name


def test_every_command_is_in_the_readme() -> None:
    commands = _commands(app)
    assert len(commands) >= 5
    for command in commands:
        assert f"`{command}" in README, command


def test_readme_commands_are_those_ci_runs() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && pytest -n 2\n" in README
    assert "pip install -e '.[test]' && pytest -n 2\n" in ci
    assert "pip install -e . && dailypapers demo" in README


def test_the_test_map_names_every_test_file_and_only_existing_ones() -> None:
    tests = Path(__file__).resolve().parent
    text = (tests / "README.md").read_text(encoding="utf-8")
    files = {p.relative_to(tests).as_posix() for p in tests.rglob("test_*.py")}
    named = set(re.findall(r"`((?:e2e/)?test_\w+\.py)", text))
    assert files - named == set(), "add these to tests/README.md"
    assert named - files == set(), "tests/README.md names files that do not exist"
