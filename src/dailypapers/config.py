"""Typed settings, read from the environment (prefix ``DAILYPAPERS_``) and an optional ``.env``.

Every setting is declared once here with its help text; the README table is checked against it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of one dailypapers instance."""

    model_config = SettingsConfigDict(
        env_prefix="DAILYPAPERS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("dailypapers-data"),
        description="Directory for the SQLite database and derived indexes.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy database URL; default: SQLite file `dailypapers.db` in the data dir.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` and `demo` listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` and `demo` use.")
    site_name: str = Field(default="Daily Papers", description="Name shown in the header.")
    base_url: str = Field(
        default="",
        description="Public URL of the site (used in Atom feeds); default: the request's own URL.",
    )
    page_size: int = Field(
        default=30, ge=1, le=100, description="Papers per page in the HTML feed and search."
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the explicit setting or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dailypapers.db').resolve()}"
