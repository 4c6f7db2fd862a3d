"""Tables of what papers get beyond arXiv's metadata: thumbnails, key phrases and TL;DRs, GitHub
stars, the map's layout, and pauses a rate-limited service asked for (registered on
:class:`~dailypapers.db.models.Base` like the rest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dailypapers.db.models import Base


class PaperThumbnail(Base):
    """Page 1 of a paper's PDF as a small WebP in ``data_dir/thumbnails`` (the PDF is never kept).

    ``status``: ok (``file`` exists) | failed (never tried again for this ``version``: too big,
    not a PDF, encrypted, broken) | retry (arXiv did not answer; tried again, ``attempts`` bounded).
    """

    __tablename__ = "paper_thumbnails"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    file: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class PaperSummary(Base):
    """Extracted, never generated: key phrases from the title and abstract, and the abstract's
    sentence that best states the contribution (``tldr``). ``text_digest``: of the text they
    were computed from, so a changed abstract is done again."""

    __tablename__ = "paper_summaries"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    keywords: Mapped[list[str]] = mapped_column(JSON)
    tldr: Mapped[str] = mapped_column(Text)
    text_digest: Mapped[bytes] = mapped_column(LargeBinary(8))
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class GithubRepo(Base):
    """A GitHub repository papers link to, with its stars. ``name``: ``owner/repo`` as the papers
    link it, lower case (the join key); ``full_name``: GitHub's current name (after a rename).
    ``status``: new | ok | gone (404/410: never asked again) | error (asked again after a
    growing pause). ``due_at``: when it is next asked."""

    __tablename__ = "github_repos"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    stars: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_github_repos_due", "status", "due_at"),)


class ServicePause(Base):
    """A remote service asked us to wait (GitHub's rate limit): no request before ``until``."""

    __tablename__ = "service_pauses"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text)


class MapLayout(Base):
    """One 2D layout of the papers' vectors under ``model``: ``anchors`` papers laid out by the
    method, every other paper placed among its nearest anchors."""

    __tablename__ = "map_layouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    anchors: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    placed_at: Mapped[datetime] = mapped_column(DateTime)  # points last added: the maps' stamp


class PaperMapPoint(Base):
    __tablename__ = "paper_map_points"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    layout_id: Mapped[int] = mapped_column(ForeignKey("map_layouts.id", ondelete="CASCADE"))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    anchor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    __table_args__ = (Index("ix_paper_map_points_layout", "layout_id", "anchor"),)
