"""How ``--help`` reads: plain type names (``PATH``, ``TEXT``, ``INTEGER``), none on flags.

Typer labels every value with its Python annotation (``<bool>``, ``<list[Path]>``), which says
more about our code than about what to type. :class:`App` is a ``typer.Typer`` whose groups and
commands relabel their parameters just before help is printed: options through their
``metavar``, arguments (whose ``metavar`` would rename them) through a subclass that only
changes that label. Help texts write defaults and variables in parentheses, never in square
brackets: Rich takes ``[...]`` for markup and prints nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

PLAIN = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "bool": ""}


def plain_label(raw: str | None) -> str:
    """``<int range>`` -> ``INTEGER``, ``<list[Path]>`` -> ``PATH...``, ``<a|b>`` -> ``a|b``."""
    label = (raw or "").strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        inner = plain_label(label[5:-1])
        return inner + "..." if inner else ""
    if "|" in label:
        return label  # the choices themselves
    base = label.removesuffix(" range").lower()
    return PLAIN.get(base, base.upper())


class _PlainArgument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        return plain_label(self.display_type(ctx)) or None


def relabel(params: list[Any], ctx: Any) -> None:
    """Give each parameter its plain type label (idempotent)."""
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag else plain_label(param.display_type(ctx))
        elif isinstance(param, TyperArgument) and not isinstance(param, _PlainArgument):
            param.__class__ = _PlainArgument


class PlainCommand(TyperCommand):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        relabel(self.get_params(ctx), ctx)
        super().format_help(ctx, formatter)


class PlainGroup(TyperGroup):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        relabel(self.get_params(ctx), ctx)
        super().format_help(ctx, formatter)


class App(typer.Typer):
    """A Typer app whose help shows plain type names (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", PlainGroup)
        kwargs.setdefault("add_completion", False)
        super().__init__(**kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)
