"""Tables of a user's "For you" signals and model (registered on
:class:`~dailypapers.db.models.Base` like the rest).

A user's signals: upvotes and collection items (in ``models``), and the rows below. Each change bumps
``user_models.signals_version`` in the same transaction; the background job trains a model for
that version. Signals are never dropped: a signal on a deleted paper stays (and is shown) but
does not count.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dailypapers.db.models import Base


class PaperFeedback(Base):
    """ "More like this" (``more``) or "not interested" (``less``) on one paper; one per user and
    paper (the last click wins)."""

    __tablename__ = "paper_feedback"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # more | less
    created_at: Mapped[datetime] = mapped_column(DateTime)


class LibraryEntry(Base):
    """One entry of a library the user imported (BibTeX, CSL-JSON, a list of arXiv ids).

    ``status``: matched (``paper_id`` set: a positive signal), pending (an arXiv id the database
    lacks, fetched in the background like a submission), missing (arXiv does not know it) or
    unmatched (no arXiv id: kept and shown, never used). ``key`` identifies the entry within the
    user's library (``arxiv:ID``, ``doi:DOI`` or ``title:...``), so importing again adds nothing.
    """

    __tablename__ = "library_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    arxiv_id: Mapped[str | None] = mapped_column(String(32), index=True)
    paper_id: Mapped[int | None] = mapped_column(
        ForeignKey("papers.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    doi: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(16))  # bibtex | csl-json | ids
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_library_entries_user_key"),)


class AuthorFollow(Base):
    """An author whose new papers go on top of the user's "For you" list."""

    __tablename__ = "author_follows"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # the author index's key of the name (``paper_authors.name_key``; migration 0012: 300 chars)
    name_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))  # as the user chose it
    created_at: Mapped[datetime] = mapped_column(DateTime)


class UserModel(Base):
    """A user's recommendation model and how fresh it is.

    ``signals_version`` moves with every change of the user's signals (in the same transaction);
    ``trained_version`` is the version the stored model was trained on. The model is stale when
    they differ, when it was trained under another embedding model, or when some of its signals
    had no vector yet (``unembedded``) and papers were embedded since.
    """

    __tablename__ = "user_models"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    signals_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    trained_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[bytes | None] = mapped_column(LargeBinary)  # ranking.recommend.UserModel
    positives: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    negatives: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unembedded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    trained_at: Mapped[datetime | None] = mapped_column(DateTime)
    # moves with every model stored (a process keeps parsed models under it: recent.KeptModels)
    model_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TermIndex(Base):
    """The tf-idf of the recent papers (``enrich.terms``): its vocabulary, fitted over the last
    months, and the rows of the papers of the last weeks, as one blob. Rebuilt by the background
    job when papers arrive; only the newest row counts (older ones are deleted)."""

    __tablename__ = "term_indexes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vocabulary: Mapped[str] = mapped_column(String(32))  # the vocabulary's digest
    fitted_on: Mapped[date] = mapped_column(Date)  # the vocabulary was fitted that day
    stamp: Mapped[str] = mapped_column(String(100))  # the papers it covers (changes: rebuild)
    built_at: Mapped[datetime] = mapped_column(DateTime)
    data: Mapped[bytes] = mapped_column(LargeBinary)
