"""ORM models: the tables every other layer reads and writes.

One row per arXiv paper (``arxiv_id`` without version; the row holds the latest version seen).
Categories are also kept one row each in ``paper_categories`` so filters use an index.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[str] = mapped_column(Text)  # space-separated, primary first
    primary_category: Mapped[str] = mapped_column(String(32))
    published: Mapped[date | None] = mapped_column(Date)
    updated: Mapped[date | None] = mapped_column(Date)
    announced_on: Mapped[date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    license: Mapped[str | None] = mapped_column(String(255))
    code_url: Mapped[str | None] = mapped_column(Text)
    project_url: Mapped[str | None] = mapped_column(Text)
    upvotes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # True while announced_on is an estimate from the submission date (OAI, snapshot, export API);
    # an announcement feed's exact date replaces an estimate, never the other way round.
    announce_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # arXiv reported it deleted
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    modified_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())

    category_rows: Mapped[list[PaperCategory]] = relationship(
        back_populates="paper", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_papers_announced_rank", "announced_on", "upvotes", "arxiv_id"),
        Index("ix_papers_announced_id", "announced_on", "arxiv_id"),
        Index("ix_papers_upvotes", "upvotes"),
    )

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"


class PaperCategory(Base):
    __tablename__ = "paper_categories"

    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )

    paper: Mapped[Paper] = relationship(back_populates="category_rows")

    __table_args__ = (Index("ix_paper_categories_paper", "paper_id", "category"),)


class IngestState(Base):
    """Where a harvest stands, per source (e.g. ``oai:cs``): the checkpoint a resumed run starts from."""

    __tablename__ = "ingest_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    resumption_token: Mapped[str | None] = mapped_column(Text)
    run_from: Mapped[date | None] = mapped_column(Date)  # `from` of the run in progress
    last_datestamp: Mapped[date | None] = mapped_column(Date)  # harvested up to (inclusive)
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())


class Lock(Base):
    """A named lease held by one process (e.g. the arXiv harvester), with arXiv request pacing."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    acquired_at: Mapped[float | None] = mapped_column(Float)  # epoch seconds
    expires_at: Mapped[float | None] = mapped_column(Float)
    last_request_at: Mapped[float | None] = mapped_column(Float)
