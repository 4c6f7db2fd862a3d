"""The walls: each layer of ``src/dailypapers`` imports only the layers below it (the list in
docs/ARCHITECTURE.md, which this test reads), so there is no import cycle between packages; and
no module grows past MAX_LINES."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dailypapers"
ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "ARCHITECTURE.md"
MAX_LINES = 450


def documented_layers() -> list[str]:
    """The layer table's first column, top row = bottom layer: ``config.py`` -> ``config``."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    table = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    layers = []
    for row in re.findall(r"^\| `([^`]+)`", table, flags=re.MULTILINE):
        layers.append(row.removesuffix(".py").removesuffix("/"))
    return layers


def top_level(module: Path) -> str:
    parts = module.relative_to(SRC).with_suffix("").parts
    return parts[0]


def imported_layers(module: Path) -> set[str]:
    """The top-level parts of ``dailypapers`` this module imports (at any depth, lazily or not)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "dailypapers":  # a module, or a name of the package itself
                names = [
                    f"dailypapers.{alias.name}"
                    if (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                    else "dailypapers.__init__"
                    for alias in node.names
                ]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "dailypapers" and len(parts) > 1:
                found.add(parts[1])
    return found


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def test_the_documented_layers_name_every_package_and_module() -> None:
    layers = documented_layers()
    assert len(layers) == len(set(layers))
    present = {top_level(p) for p in modules()} - {"__init__", "__main__"}
    assert present == set(layers), "docs/ARCHITECTURE.md's layer table and src/ disagree"


def test_each_layer_imports_only_layers_below_it() -> None:
    rank = {name: i for i, name in enumerate(documented_layers())}
    rank["__init__"] = -1  # the version string, below everything
    rank["__main__"] = len(rank)
    upward = []
    for module in modules():
        own = top_level(module)
        for target in imported_layers(module) - {own}:
            if target not in rank:
                upward.append(f"{module.relative_to(SRC)} imports unknown dailypapers.{target}")
            elif rank[target] >= rank[own]:
                upward.append(f"{module.relative_to(SRC)} ({own}) imports {target}, not below it")
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("module", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_over_the_size_limit(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by what it does"
