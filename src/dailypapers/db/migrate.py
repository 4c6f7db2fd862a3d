"""Bring a database to the newest schema with the Alembic migrations shipped in the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from dailypapers.db import author_index, keyword_index

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_schema(engine: Engine) -> None:
    """Apply every pending migration and nothing else (a database being filled by a move: the
    index catch-up below would write rows the move is about to copy)."""
    command.upgrade(alembic_config(engine), "head")


def head_revision() -> str:
    """The newest migration's revision: the schema this version of dailypapers expects."""
    head = ScriptDirectory.from_config(alembic_config_for_scripts()).get_current_head()
    assert head is not None
    return head


def alembic_config_for_scripts() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration (a no-op on an up-to-date database), then index any papers
    an interrupted import left out of the keyword and author indexes (cheap when there are none)."""
    command.upgrade(alembic_config(engine), "head")
    keyword_index.catch_up(engine)
    author_index.catch_up(engine)
