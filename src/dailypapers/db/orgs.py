"""Tables of organizations (a lab or company papers are submitted on behalf of), their members,
and authors' claims on papers (registered on :class:`~dailypapers.db.models.Base` like the rest).
A submission names its organization in ``submissions.organization_id``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dailypapers.db.models import Base


class Organization(Base):
    """An organization: ``slug`` is its URL name (``/organizations/{slug}``, lowercase a-z0-9-)."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    logo_url: Mapped[str | None] = mapped_column(Text)
    site_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class OrganizationMember(Base):
    """A user in an organization; ``role``: owner | member. Members submit on its behalf."""

    __tablename__ = "organization_members"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AuthorClaim(Base):
    """A user's claim to be the author at ``position`` of a paper (``name``: as the paper writes it).

    ``status``: pending (an admin decides: arXiv lists no emails to match) | approved |
    rejected. At most one pending or approved claim per paper and position (the service refuses a
    second with a Conflict); rejected ones are kept as a record.
    """

    __tablename__ = "author_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
