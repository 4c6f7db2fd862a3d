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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
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


class PaperAuthor(Base):
    """The author index: one row per author of a paper, under normalised name keys (accents
    folded, lower case, punctuation dropped; see :mod:`dailypapers.db.author_index`), derived
    from ``papers.authors`` and rebuilt from it."""

    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: first author
    # last name token + " " + first letter of the first token ("zhou t"): what lookups use
    short_key: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(300))  # every token, in order ("tianyi zhou")

    __table_args__ = (Index("ix_paper_authors_short", "short_key", "paper_id"),)


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


# --- community (accounts, votes, submissions, comments, collections) ---------------------------
# Secrets (login links, sessions, API tokens) are stored as SHA-256 hashes, never in clear.


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(80))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # picks papers for the curated daily feed (DAILYPAPERS_DAILY_FEED=curated); admins may too
    is_curator: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.current_timestamp())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginToken(Base):
    """A magic sign-in link: single use, short-lived."""

    __tablename__ = "login_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    next_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Vote(Base):
    __tablename__ = "votes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Submission(Base):
    """A paper submitted to a day's feed ("daily pick"); one per arXiv id and day (merged)."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date, index=True)
    paper_id: Mapped[int | None] = mapped_column(
        ForeignKey("papers.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # ready | pending (fetch from arXiv) | missing
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # on behalf of this organization (db/orgs.py); set by a member only
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (UniqueConstraint("arxiv_id", "day", name="uq_submissions_arxiv_day"),)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)  # Markdown as written
    body_html: Mapped[str] = mapped_column(Text)  # rendered and sanitised when written
    created_at: Mapped[datetime] = mapped_column(DateTime)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)  # by an admin
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)  # by its author


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class CollectionItem(Base):
    __tablename__ = "collection_items"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    added_at: Mapped[datetime] = mapped_column(DateTime)


class RateEvent(Base):
    """Fixed-window counters for rate limits, shared by every process of an instance."""

    __tablename__ = "rate_events"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)


# --- email digests (subscriptions, saved-search sections, the delivery ledger) ----------------


class Subscription(Base):
    """An email address that asked for digests; nothing is mailed to it until it is confirmed.

    ``status``: pending (confirmation sent) | active | unsubscribed | bouncing (too many
    permanent delivery failures: never mailed again). ``key`` is random and signs this
    subscription's links, so a link never outlives its row (ids can be reused after a delete).
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised, lower case
    key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    frequency: Mapped[str] = mapped_column(String(8))  # daily | weekly
    trending: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    categories: Mapped[str] = mapped_column(Text, default="", server_default="")  # space-separated
    bounces: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # in a row
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()


class SavedSearch(Base):
    """A search saved as a digest section: the period's papers that match it."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    query: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(32), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("subscription_id", "query", "category", name="uq_saved_searches"),
    )


class DigestDelivery(Base):
    """The delivery ledger (never twice): one row per subscription and period (``day:2025-06-18``,
    ``week:2025-W25``). ``status``: claimed (not at DATA yet; a run a minute later takes over one
    whose run stopped) | sending (the message went out or is going: sent, or uncertain when left so;
    never sent again by itself) | sent | deferred (temporary failures; the next run tries again) |
    failed (permanent). ``attempts`` numbers the claims: every mark names the one it belongs to."""

    __tablename__ = "digest_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_digest_deliveries"),
    )


# --- search by meaning -------------------------------------------------------------------------


class PaperEmbedding(Base):
    """A paper's vector under one model (float32 little-endian), kept per model so a model switch
    re-embeds in the background while the old vectors keep serving."""

    __tablename__ = "paper_embeddings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # only grows: the index watermark
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    text_digest: Mapped[bytes] = mapped_column(LargeBinary(8))  # of the text embedded
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("paper_id", "model", name="uq_paper_embeddings_paper_model"),
        Index("ix_paper_embeddings_model_id", "model", "id"),
    )


# Deleted papers are few; this index lets the vector index drop them without a table scan. It is
# partial (deleted rows only): a full index tempted SQLite to scan it for every "deleted_at IS NULL"
# (nearly every paper), which made feeds read the whole table.
Index(
    "ix_papers_deleted_at",
    Paper.deleted_at,
    sqlite_where=Paper.deleted_at.is_not(None),
    postgresql_where=Paper.deleted_at.is_not(None),
)

# The live papers' ids by announce date: feeds, the For-you candidates and the retrain's sampled
# papers ("announced in a range, not deleted") read this index alone, not the table. Partial on
# SQLite; on PostgreSQL deleted_at is an INCLUDE column (a predicate alone made it a bitmap of
# every paper that keyword searches were offered; migration 0015 has the figures).
Index(
    "ix_papers_live_announced",
    Paper.announced_on,
    Paper.id,
    sqlite_where=Paper.deleted_at.is_(None),
    postgresql_include=["deleted_at"],
)


# The tables of what papers get beyond arXiv's metadata live in their own module; importing it
# here registers them on Base.metadata for everyone who imports the models (migrations, tests).
from dailypapers.db import extras as extras  # noqa: E402
from dailypapers.db import orgs as orgs  # noqa: E402
from dailypapers.db import signals as signals  # noqa: E402
