"""``--help`` of every command, as a person reads it: each option's help text in full (Rich once
ate ``[env ...; default ...]`` as markup, leaving "Data directory ."), the defaults and the
environment variables named in full, and plain type names instead of ``<bool>`` / ``<list[Path]>``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from dailypapers.cli import app

runner = CliRunner()
TYPE_TAG = re.compile(r"<[a-zA-Z][\w\[\]|, ]*>")
BOX = re.compile(r"[│╭╮╰╯─]+")


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from commands(command, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


def flat(text: str) -> str:
    """The help as one line: box drawing gone, wrapped lines joined."""
    return " ".join(BOX.sub(" ", text).split())


def help_of(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path, _ in ALL}
    assert {"demo", "serve", "worker", "import listing", "digest send", "users add"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize("path", [path for path, _ in ALL], ids=lambda p: " ".join(p) or "root")
def test_help_shows_every_option_in_full_without_type_tags(path: tuple[str, ...]) -> None:
    text = help_of(path)
    shown = flat(text)
    assert not TYPE_TAG.search(text), f"a type tag in `{' '.join(path)} --help`:\n{text}"
    assert not re.search(r"\w \.( |$)", shown), f"something was eaten before a full stop:\n{text}"
    command = dict(ALL)[path]
    for param in command.params:
        if param.help:
            assert " ".join(param.help.split()) in shown, f"{param.name}'s help is cut:\n{text}"
    if any(param.name == "data_dir" for param in command.params):
        assert "(default ./dailypapers-data; env DAILYPAPERS_DATA_DIR)" in shown


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_server_commands_name_their_defaults_and_variables(command: str) -> None:
    shown = flat(help_of((command,)))
    assert "(default 127.0.0.1; env DAILYPAPERS_HOST)" in shown
    assert "(default 8000; env DAILYPAPERS_PORT)" in shown


def test_worker_names_the_setting_with_its_prefix() -> None:
    shown = flat(help_of(("worker",)))
    assert "DAILYPAPERS_JOBS_IN_WEB=false" in shown
    assert "pair with JOBS_IN_WEB" not in shown


def test_dates_and_flags_read_plainly() -> None:
    backfill = flat(help_of(("backfill",)))
    assert "--from YYYY-MM-DD" in backfill and "--categories TEXT" in backfill
    listing = flat(help_of(("import", "listing")))
    assert "files... PATH..." in listing
    assert "--dry-run Fetch and count" in flat(help_of(("ingest",)))  # no type on a flag
