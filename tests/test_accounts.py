"""Accounts: sign-in links, sessions, API tokens, profiles (fresh database per test)."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import ApiToken, LoginToken, User, UserSession
from dailypapers.services.accounts import (
    add_user,
    consume_login,
    create_api_token,
    create_session,
    end_session,
    get_user_by_email,
    initials,
    list_api_tokens,
    login_link,
    normalise_email,
    request_login,
    revoke_api_token,
    safe_next_url,
    update_profile,
    user_for_api_token,
    user_for_session,
)
from dailypapers.services.errors import Invalid, NotAllowed, NotFound

NOW = datetime(2025, 6, 17, 9, 0)


def test_normalise_email_lowercases_and_refuses_injection() -> None:
    assert normalise_email("  Ada.Lovelace@Example.ORG ") == "ada.lovelace@example.org"
    for bad in (
        "a@b.c\r\nBcc: x@y.z",
        "a@b.c\nx",
        "not an email",
        "",
        "Ada <ada@example.org>",
        "a@b",
    ):
        with pytest.raises(Invalid):
            normalise_email(bad)


def test_sign_in_link_creates_the_account_once(engine: Engine) -> None:
    with Session(engine) as session:
        raw = request_login(session, "Ada@Example.org", next_url="/papers/2506.00001", now=NOW)
        assert (
            login_link("https://dp.example", raw) == f"https://dp.example/login/confirm?token={raw}"
        )
        user, next_url = consume_login(session, raw, now=NOW + timedelta(minutes=14))
        assert (user.email, user.display_name, next_url) == (
            "ada@example.org",
            "ada",
            "/papers/2506.00001",
        )
        assert user.last_login_at == NOW + timedelta(minutes=14) and not user.is_admin
        again, _ = consume_login(
            session, request_login(session, "ada@example.org", now=NOW), now=NOW
        )
        assert again.id == user.id
        assert session.scalar(select(func.count(User.id))) == 1


def test_only_the_hash_of_a_secret_is_stored(engine: Engine) -> None:
    with Session(engine) as session:
        raw = request_login(session, "ada@example.org", now=NOW)
        stored = session.scalars(select(LoginToken.token_hash)).one()
        assert stored == hashlib.sha256(raw.encode()).hexdigest() and raw not in stored
        assert len(raw) >= 40


def test_requests_look_the_same_with_or_without_an_account(engine: Engine) -> None:
    with Session(engine) as session:
        add_user(session, "known@example.org")
        known = request_login(session, "known@example.org", now=NOW)
        unknown = request_login(session, "new@example.org", now=NOW)
        assert type(known) is type(unknown) and len(known) == len(unknown)
        assert session.scalar(select(func.count(User.id))) == 1  # no account until the link is used


def test_expired_reused_and_unknown_links_are_refused(engine: Engine) -> None:
    with Session(engine) as session:
        raw = request_login(session, "ada@example.org", now=NOW)
        with pytest.raises(Invalid) as expired:
            consume_login(session, raw, now=NOW + timedelta(minutes=15))
        assert expired.value.message == "this sign-in link has expired; ask for a new one"
        fresh = request_login(session, "ada@example.org", now=NOW)
        consume_login(session, fresh, now=NOW)
        with pytest.raises(Invalid) as reused:
            consume_login(session, fresh, now=NOW)
        assert reused.value.message == "this sign-in link was already used; ask for a new one"
        with pytest.raises(Invalid) as unknown:
            consume_login(session, "made-up", now=NOW)
        assert unknown.value.message == "this sign-in link is not valid"


def test_next_url_stays_on_this_site(engine: Engine) -> None:
    assert safe_next_url("/collections?x=1") == "/collections?x=1"
    for bad in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:x",
        "/a\r\nb",
        None,
        "",
    ):
        assert safe_next_url(bad) is None
    with Session(engine) as session:
        raw = request_login(session, "ada@example.org", next_url="https://evil.example", now=NOW)
        assert consume_login(session, raw, now=NOW)[1] is None


def test_sessions_expire_and_end(engine: Engine) -> None:
    with Session(engine) as session:
        user = add_user(session, "ada@example.org")
        cookie = create_session(session, user, now=NOW)
        assert user_for_session(session, cookie, now=NOW + timedelta(days=29)) == user
        assert user_for_session(session, cookie, now=NOW + timedelta(days=30)) is None
        assert user_for_session(session, None) is None
        assert user_for_session(session, "forged", now=NOW) is None
        end_session(session, cookie)
        assert user_for_session(session, cookie, now=NOW) is None
        end_session(session, cookie)  # twice: harmless
        create_session(
            session, user, now=NOW + timedelta(days=31)
        )  # clears the user's expired ones
        assert session.scalar(select(func.count(UserSession.id))) == 1


def test_api_tokens_work_until_revoked(engine: Engine) -> None:
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        bob = add_user(session, "bob@example.org")
        token, raw = create_api_token(session, ada, "  laptop script ", now=NOW)
        assert raw.startswith("dp_") and token.name == "laptop script"
        assert user_for_api_token(session, raw, now=NOW + timedelta(hours=1)) == ada
        assert token.last_used_at == NOW + timedelta(hours=1)
        assert user_for_api_token(session, "dp_forged") is None
        assert user_for_api_token(session, raw[3:]) is None
        with pytest.raises(NotAllowed):
            revoke_api_token(session, bob, token.id)
        with pytest.raises(NotFound):
            revoke_api_token(session, ada, 999)
        revoke_api_token(session, ada, token.id)
        assert user_for_api_token(session, raw) is None
        revoke_api_token(session, ada, token.id)  # twice: harmless
        assert [t.id for t in list_api_tokens(session, ada)] == [token.id]
        assert list_api_tokens(session, bob) == []
        assert session.scalar(select(func.count(ApiToken.id))) == 1


def test_add_user_sets_admin_and_name(engine: Engine) -> None:
    with Session(engine) as session:
        admin = add_user(session, "Root@Example.org", admin=True, display_name="Site Admin")
        assert (admin.email, admin.is_admin, admin.display_name) == (
            "root@example.org",
            True,
            "Site Admin",
        )
        same = add_user(session, "root@example.org")
        assert same.id == admin.id and not same.is_admin
        assert get_user_by_email(session, "ROOT@example.org") == admin
        assert get_user_by_email(session, "nobody@example.org") is None
        assert get_user_by_email(session, "garbage") is None
        with pytest.raises(Invalid):
            add_user(session, "a@b.c\r\nBcc: x@y.z")


def test_profile_names_are_checked(engine: Engine) -> None:
    with Session(engine) as session:
        user = add_user(session, "ada@example.org")
        assert update_profile(session, user, "  Ada Lovelace ").display_name == "Ada Lovelace"
        for bad in ("", "   ", "x" * 81, "Ada\nBcc"):
            with pytest.raises(Invalid):
                update_profile(session, user, bad)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ada Lovelace", "AL"),
        ("ada", "A"),
        ("ada.lovelace", "AL"),
        ("Jean-Luc van der Berg", "JB"),
        ("", "?"),
        ("émile zola", "ÉZ"),
    ],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_racing_first_sign_ins_make_one_account(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        links = [request_login(session, "new@example.org", now=NOW) for _ in range(6)]
    start = threading.Barrier(6)

    def sign_in(raw: str) -> int:
        start.wait()
        with Session(engine) as session, session.begin():
            return consume_login(session, raw, now=NOW)[0].id

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(sign_in, links))
    with Session(engine) as session:
        assert len(ids) == 1 and session.scalar(select(func.count(User.id))) == 1
