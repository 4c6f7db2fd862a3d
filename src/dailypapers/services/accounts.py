"""Passwordless accounts: sign-in links by email, session cookies, API tokens, profiles.

Every secret (link, cookie, token) is ``secrets.token_urlsafe(32)`` handed out once and stored only
as its SHA-256, so a leaked database lets nobody sign in. A sign-in request looks the same whether
or not the address has an account; the account is created when its first link is used. Write
functions never commit: callers commit (docs/ARCHITECTURE.md, "Transactions: who commits").
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.dialect import insert_ignore
from dailypapers.db.models import ApiToken, LoginToken, User, UserSession
from dailypapers.services.errors import Invalid, NotAllowed, NotFound

LOGIN_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(days=30)
API_TOKEN_PREFIX = "dp_"
MAX_NAME = 80
MAX_NEXT_URL = 500
KEEP_USED_LINKS = timedelta(days=1)  # long enough to tell "already used" from "not valid"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # an API call writes at most once a minute

INVALID_LINK = "this sign-in link is not valid"
EXPIRED_LINK = "this sign-in link has expired; ask for a new one"
USED_LINK = "this sign-in link was already used; ask for a new one"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- email addresses --------------------------------------------------------------------------


def normalise_email(text: str) -> str:
    """The address in lower case; Invalid for anything that is not one plain address."""
    if any(c in text for c in "\r\n\0"):
        raise Invalid("an email address cannot contain line breaks")
    candidate = text.strip()
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise Invalid(f"{candidate[:80]!r} is not a valid email address") from None
    return checked.normalized.lower()


def safe_next_url(url: str | None) -> str | None:
    """A path on this site to return to after signing in, or None (never another host)."""
    if not url or len(url) > MAX_NEXT_URL or not url.startswith("/") or url.startswith("//"):
        return None
    if any(c in url for c in "\\\r\n\t\0"):
        return None
    return url


# --- sign-in links ----------------------------------------------------------------------------


def request_login(
    session: Session, email: str, *, next_url: str | None = None, now: datetime | None = None
) -> str:
    """Create a single-use sign-in link token for ``email`` (15 min); returns the raw token."""
    moment = now or utcnow()
    raw = _new_secret()
    session.execute(delete(LoginToken).where(LoginToken.expires_at < moment - KEEP_USED_LINKS))
    session.add(
        LoginToken(
            token_hash=_hash(raw),
            email=normalise_email(email),
            next_url=safe_next_url(next_url),
            created_at=moment,
            expires_at=moment + LOGIN_TTL,
        )
    )
    return raw


def login_link(base_url: str, token: str) -> str:
    return f"{base_url}/login/confirm?token={token}"


def consume_login(
    session: Session, token: str, *, now: datetime | None = None
) -> tuple[User, str | None]:
    """Use a sign-in link: mark it used, create the account on first sign-in; (user, next_url)."""
    moment = now or utcnow()
    login = session.scalar(select(LoginToken).where(LoginToken.token_hash == _hash(token)))
    if login is None:
        raise Invalid(INVALID_LINK)
    if login.used_at is not None:
        raise Invalid(USED_LINK)
    if login.expires_at <= moment:
        raise Invalid(EXPIRED_LINK)
    # Conditional update: of two requests racing with the same link, only one signs in.
    claimed = session.execute(
        update(LoginToken)
        .where(LoginToken.id == login.id, LoginToken.used_at.is_(None))
        .values(used_at=moment)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Invalid(USED_LINK)  # the update matched no row: nothing was written
    user = get_user_by_email(session, login.email) or _new_user(session, login.email, moment)
    user.last_login_at = moment
    return user, login.next_url


def _new_user(session: Session, email: str, moment: datetime) -> User:
    """Create the account; a concurrent sign-in that created it first wins (no duplicate error)."""
    name = email.split("@", 1)[0][:MAX_NAME] or email[:MAX_NAME]
    insert_ignore(session, User, email=email, display_name=name, is_admin=False, created_at=moment)
    return session.scalars(select(User).where(User.email == email)).one()


# --- sessions (the sign-in cookie) -------------------------------------------------------------


def create_session(session: Session, user: User, *, now: datetime | None = None) -> str:
    """A new 30-day session for ``user``; returns the raw cookie value."""
    moment = now or utcnow()
    raw = _new_secret()
    session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= moment)
    )
    session.add(
        UserSession(
            token_hash=_hash(raw),
            user_id=user.id,
            created_at=moment,
            expires_at=moment + SESSION_TTL,
        )
    )
    return raw


def user_for_session(
    session: Session, raw: str | None, *, now: datetime | None = None
) -> User | None:
    """The signed-in user for a cookie value, or None (no cookie, unknown or expired)."""
    if not raw:
        return None
    return session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _hash(raw), UserSession.expires_at > (now or utcnow()))
    )


def end_session(session: Session, raw: str) -> None:
    """Sign out: the cookie value stops working at once."""
    found = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(raw)))
    if found is not None:
        session.delete(found)


# --- API tokens ---------------------------------------------------------------------------------


def create_api_token(
    session: Session, user: User, name: str, *, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """A token for scripts (``Authorization: Bearer dp_...``); the raw value is shown only once."""
    label = name.replace("\x00", "").strip()[:MAX_NAME] or "token"
    raw = API_TOKEN_PREFIX + _new_secret()
    token = ApiToken(token_hash=_hash(raw), user_id=user.id, name=label, created_at=now or utcnow())
    session.add(token)
    session.flush()  # the id: `users token` prints it
    return token, raw


def user_for_api_token(
    session: Session, raw: str, *, now: datetime | None = None, record_use: bool = True
) -> User | None:
    """The token's owner, or None for an unknown or revoked token; records when it was used
    (unless ``record_use`` is false: a GET reads only)."""
    if not raw.startswith(API_TOKEN_PREFIX):
        return None
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _hash(raw), ApiToken.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    token, user = found
    moment = now or utcnow()
    if not record_use:
        return user
    if token.last_used_at is None or moment - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = moment  # committed with the request that used it
    return user


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens (revoking twice is harmless)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"there is no API token {token_id}")
    if token.user_id != user.id:
        raise NotAllowed("this API token belongs to someone else")
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def revoke_token_id(session: Session, token_id: int) -> ApiToken:
    """Revoke any token by id (the ``users revoke`` admin command); returns it."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"there is no API token {token_id}")
    owner = session.get(User, token.user_id)
    assert owner is not None  # the foreign key guarantees it
    revoke_api_token(session, owner, token_id)
    return token


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (marked by ``revoked_at``)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


# --- users and profiles ----------------------------------------------------------------------


def list_users(session: Session) -> list[User]:
    """Every account, oldest first."""
    return list(session.scalars(select(User).order_by(User.created_at, User.id)))


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One line of ``users list``: an account and its active tokens ``(id, name)``."""

    email: str
    display_name: str
    is_admin: bool
    last_login_at: datetime | None
    tokens: list[tuple[int, str]]
    is_curator: bool = False


def account_summaries(session: Session) -> list[AccountSummary]:
    """Every account, oldest first, with its tokens that are not revoked (``users list``)."""
    return [
        AccountSummary(
            user.email,
            user.display_name,
            user.is_admin,
            user.last_login_at,
            [(t.id, t.name) for t in list_api_tokens(session, user) if t.revoked_at is None],
            user.is_curator,
        )
        for user in list_users(session)
    ]


def get_user_by_email(session: Session, email: str) -> User | None:
    try:
        address = normalise_email(email)
    except Invalid:
        return None
    return session.scalar(select(User).where(User.email == address))


def add_user(
    session: Session,
    email: str,
    *,
    admin: bool = False,
    display_name: str | None = None,
    curator: bool | None = None,
) -> User:
    """Create an account (``users add``), or update an existing one's admin flag and name (and
    curator flag, unless ``curator`` is None)."""
    address = normalise_email(email)
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        user = _new_user(session, address, utcnow())
    user.is_admin = admin
    if curator is not None:
        user.is_curator = curator
    if display_name is not None:
        user.display_name = _check_name(display_name)
    return user


def update_profile(session: Session, user: User, display_name: str) -> User:
    user.display_name = _check_name(display_name)
    return user


def _check_name(display_name: str) -> str:
    name = display_name.strip()
    if not 1 <= len(name) <= MAX_NAME or any(ord(c) < 32 for c in name):
        raise Invalid(f"a display name has 1 to {MAX_NAME} characters and no line breaks")
    return name


def initials(display_name: str) -> str:
    """Up to two capital letters for the avatar: "Ada Lovelace" -> "AL", "ada" -> "A"."""
    words = [w for w in display_name.replace("_", " ").replace(".", " ").split() if w]
    letters = [next((c for c in w if c.isalnum()), "") for w in words]
    letters = [c for c in letters if c]
    if not letters:
        return "?"
    picked = letters[0] + (letters[-1] if len(letters) > 1 else "")
    return picked.upper()
