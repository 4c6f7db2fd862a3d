"""Organizations: a lab or company whose members submit papers on its behalf.

An admin creates one (``dailypapers orgs add`` or the web form); its slug is its URL name
(``/organizations/{slug}``): lowercase a-z, 0-9 and ``-``, 2-40 characters, unique. Members
(role owner or member) may name it when they submit (``organizationId`` in
``POST /api/papers/index``); its page lists those papers and its members. Nothing here commits:
the caller owns the transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import Paper, Submission, User
from dailypapers.db.orgs import Organization, OrganizationMember
from dailypapers.services.errors import Conflict, Invalid, NotAllowed, NotFound

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
ROLES = ("owner", "member")
MAX_NAME = 120
READY = "ready"


@dataclass(frozen=True, slots=True)
class OrgSummary:
    slug: str
    name: str
    members: int
    papers: int


@dataclass(frozen=True, slots=True)
class OrgPage:
    organization: Organization
    papers: list[Paper]  # submitted on its behalf, newest submission first
    total: int
    members: list[tuple[User, str]]  # (user, role), owners first


def check_slug(text: str) -> str:
    """The slug as given, or :class:`Invalid` saying which rule it breaks."""
    slug = text.strip()
    if not 2 <= len(slug) <= 40:
        raise Invalid(f"an organization slug has 2 to 40 characters, not {len(slug)}")
    if not SLUG.fullmatch(slug):
        raise Invalid(
            f"{slug[:40]!r} is not a valid slug: use lowercase a-z, 0-9 and '-' (not first or last)"
        )
    return slug


def _check_url(text: str | None, what: str) -> str | None:
    if text is None or not text.strip():
        return None
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        raise Invalid(f"the {what} must be an http(s) URL of at most 500 characters")
    if any(c in url for c in "<>\"' \n\r\t"):
        raise Invalid(f"the {what} contains characters a URL cannot have")
    return url


def _check_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise Invalid("an organization needs a name")
    if len(name) > MAX_NAME:
        raise Invalid(f"an organization name is at most {MAX_NAME} characters")
    if any(c in name for c in "<>"):
        raise Invalid("an organization name cannot contain '<' or '>'")
    return name


def add_organization(
    session: Session,
    slug: str,
    name: str,
    *,
    site_url: str | None = None,
    logo_url: str | None = None,
    now: datetime | None = None,
) -> Organization:
    """Create an organization; :class:`Conflict` when the slug is taken."""
    slug = check_slug(slug)
    org = Organization(
        slug=slug,
        name=_check_name(name),
        site_url=_check_url(site_url, "site URL"),
        logo_url=_check_url(logo_url, "logo URL"),
        created_at=now or utcnow(),
    )
    if get_organization(session, slug) is not None:
        raise Conflict(f"the organization slug {slug!r} is already taken")
    session.add(org)
    session.flush()
    return org


def get_organization(session: Session, slug: str) -> Organization | None:
    return session.scalars(select(Organization).where(Organization.slug == slug)).first()


def require_organization(session: Session, slug: str) -> Organization:
    wanted = slug.strip()
    # never a query for what cannot be a slug (a NUL byte is an error on PostgreSQL)
    org = get_organization(session, wanted) if SLUG.fullmatch(wanted) else None
    if org is None:
        raise NotFound(f"no organization {wanted[:40]!r}")
    return org


def set_member(session: Session, org: Organization, user: User, role: str = "member") -> None:
    """Add ``user`` to ``org`` (or change their role)."""
    if role not in ROLES:
        raise Invalid(f"a role is one of {', '.join(ROLES)}, not {role[:20]!r}")
    row = session.get(OrganizationMember, (org.id, user.id))
    if row is None:
        session.add(
            OrganizationMember(
                organization_id=org.id, user_id=user.id, role=role, created_at=utcnow()
            )
        )
    else:
        row.role = role
    session.flush()


def remove_member(session: Session, org: Organization, user: User) -> None:
    row = session.get(OrganizationMember, (org.id, user.id))
    if row is None:
        raise NotFound(f"{user.email} is not a member of {org.slug}")
    session.delete(row)
    session.flush()


def is_member(session: Session, org: Organization, user: User) -> bool:
    return session.get(OrganizationMember, (org.id, user.id)) is not None


def user_organizations(session: Session, user: User) -> list[Organization]:
    """The organizations ``user`` may submit for, by name."""
    return list(
        session.scalars(
            select(Organization)
            .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
            .where(OrganizationMember.user_id == user.id)
            .order_by(Organization.name)
        )
    )


def organization_for_submission(session: Session, user: User, slug: str | None) -> int | None:
    """The id of the organization ``slug`` names when ``user`` is a member (else NotAllowed)."""
    if slug is None or not slug.strip():
        return None
    org = require_organization(session, slug)
    if not is_member(session, org, user):
        raise NotAllowed(f"only members of {org.slug} may submit on its behalf")
    return org.id


def list_organizations(session: Session) -> list[OrgSummary]:
    members = (
        select(func.count())
        .where(OrganizationMember.organization_id == Organization.id)
        .scalar_subquery()
    )
    papers = (
        select(func.count(func.distinct(Submission.paper_id)))
        .where(Submission.organization_id == Organization.id, Submission.status == READY)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Organization.slug, Organization.name, members, papers).order_by(Organization.slug)
    )
    return [OrgSummary(slug, name, int(m or 0), int(p or 0)) for slug, name, m, p in rows]


def organization_paper_ids(session: Session, org_id: int) -> list[int]:
    """Paper ids submitted on its behalf (ready), newest submission first."""
    rows = session.execute(
        select(Submission.paper_id)
        .where(
            Submission.organization_id == org_id,
            Submission.status == READY,
            Submission.paper_id.is_not(None),
        )
        .order_by(Submission.day.desc(), Submission.created_at.desc(), Submission.id.desc())
    )
    seen: dict[int, None] = {}
    for (paper_id,) in rows:
        if paper_id is not None:
            seen.setdefault(paper_id, None)
    return list(seen)


def organization_page(session: Session, slug: str, *, limit: int = 30, offset: int = 0) -> OrgPage:
    org = require_organization(session, slug)
    ids = organization_paper_ids(session, org.id)
    wanted = ids[offset : offset + limit]
    found = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(wanted)))}
    members = session.execute(
        select(User, OrganizationMember.role)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == org.id)
        .order_by(OrganizationMember.role.desc(), User.display_name)
    )
    return OrgPage(
        org,
        [found[i] for i in wanted if i in found],
        len(ids),
        [(user, role) for user, role in members],
    )


def paper_organizations(session: Session, paper_ids: list[int]) -> dict[int, Organization]:
    """Paper id -> the organization its first on-behalf submission names (for cards and API)."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(Submission.paper_id, Organization)
        .join(Organization, Organization.id == Submission.organization_id)
        .where(Submission.paper_id.in_(paper_ids), Submission.status == READY)
        .order_by(Submission.day, Submission.created_at, Submission.id)
    )
    found: dict[int, Organization] = {}
    for paper_id, org in rows:
        if paper_id is not None:
            found.setdefault(paper_id, org)
    return found
