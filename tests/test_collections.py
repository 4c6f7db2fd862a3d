"""Collections: reading lists with notes; owners write, private ones stay invisible to others."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import CollectionItem, User
from dailypapers.services.accounts import add_user
from dailypapers.services.collections import (
    MAX_NAME,
    add_item,
    create_collection,
    delete_collection,
    get_collection,
    items,
    remove_item,
    update_collection,
    user_collections,
)
from dailypapers.services.errors import Invalid, NotAllowed, NotFound
from tests.helpers import add_papers, record

NOW = datetime(2025, 6, 17, 9, 0)


@pytest.fixture
def users(engine: Engine) -> tuple[int, int]:
    add_papers(engine, *(record(f"2506.0000{i}", "2025-06-17") for i in range(1, 4)))
    with Session(engine) as session, session.begin():
        return add_user(session, "ada@example.org").id, add_user(session, "bob@example.org").id


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user


def test_create_save_and_list_newest_first(engine: Engine, users: tuple[int, int]) -> None:
    with Session(engine) as session:
        ada = _user(session, users[0])
        reading = create_collection(
            session, ada, "  Reading list ", description="for the group", now=NOW
        )
        assert (reading.name, reading.is_public, reading.description) == (
            "Reading list",
            False,
            "for the group",
        )
        add_item(session, ada, reading.id, "2506.00001", "read first", now=NOW)
        add_item(
            session, ada, reading.id, "https://arxiv.org/abs/2506.00002v2", now=NOW + timedelta(1)
        )
        add_item(session, ada, reading.id, "2506.00001", "re-read", now=NOW + timedelta(2))
        assert [(p.arxiv_id, note) for p, note in items(session, reading)] == [
            ("2506.00002", ""),
            ("2506.00001", "re-read"),
        ]
        remove_item(session, ada, reading.id, "2506.00002")
        remove_item(session, ada, reading.id, "2506.00002")  # twice: harmless
        assert [p.arxiv_id for p, _ in items(session, reading)] == ["2506.00001"]
        later = create_collection(session, ada, "Later", public=True, now=NOW + timedelta(3))
        # most recently changed first: removing an item just now touched the reading list
        assert [c.id for c in user_collections(session, ada)] == [reading.id, later.id]
        assert user_collections(session, _user(session, users[1])) == []


def test_private_collections_are_invisible_to_others(
    engine: Engine, users: tuple[int, int]
) -> None:
    with Session(engine) as session:
        ada, bob = _user(session, users[0]), _user(session, users[1])
        private = create_collection(session, ada, "Private")
        assert get_collection(session, private.id, ada) == private
        for viewer in (bob, None):
            with pytest.raises(NotFound):
                get_collection(session, private.id, viewer)
        update_collection(session, ada, private.id, public=True)
        assert get_collection(session, private.id, None) == private
        with pytest.raises(NotFound):
            get_collection(session, 999, ada)


def test_another_users_collection_is_not_allowed(engine: Engine, users: tuple[int, int]) -> None:
    with Session(engine) as session:
        ada, bob = _user(session, users[0]), _user(session, users[1])
        mine = create_collection(session, ada, "Mine", public=True)
        add_item(session, ada, mine.id, "2506.00001")
        attempts = [
            lambda: update_collection(session, bob, mine.id, name="Bob's now"),
            lambda: delete_collection(session, bob, mine.id),
            lambda: add_item(session, bob, mine.id, "2506.00002"),
            lambda: remove_item(session, bob, mine.id, "2506.00001"),
        ]
        for attempt in attempts:
            with pytest.raises(NotAllowed):
                attempt()
        assert mine.name == "Mine" and len(items(session, mine)) == 1


def test_another_users_private_collection_is_not_found(
    engine: Engine, users: tuple[int, int]
) -> None:
    """Writing to someone's private collection says what a missing id says, not "not allowed"."""
    with Session(engine) as session:
        ada, bob = _user(session, users[0]), _user(session, users[1])
        secret = create_collection(session, ada, "Secret", public=False)
        for target in (secret.id, secret.id + 1000):  # private, missing
            attempts = [
                partial(update_collection, session, bob, target, name="Bob's now"),
                partial(delete_collection, session, bob, target),
                partial(add_item, session, bob, target, "2506.00002"),
                partial(remove_item, session, bob, target, "2506.00001"),
            ]
            for attempt in attempts:
                with pytest.raises(NotFound, match=f"there is no collection {target}$"):
                    attempt()
        assert secret.name == "Secret"


def test_bad_input(engine: Engine, users: tuple[int, int]) -> None:
    with Session(engine) as session:
        ada = _user(session, users[0])
        for bad in ("", "   ", "x" * (MAX_NAME + 1)):
            with pytest.raises(Invalid):
                create_collection(session, ada, bad)
        collection = create_collection(session, ada, "ok")
        with pytest.raises(Invalid):
            update_collection(session, ada, collection.id, name=" ")
        with pytest.raises(Invalid):
            add_item(session, ada, collection.id, "2506.00001", "n" * 2001)
        for unknown in ("2506.99999", "garbage"):
            with pytest.raises(NotFound):
                add_item(session, ada, collection.id, unknown)
        with pytest.raises(NotFound):
            add_item(session, ada, 999, "2506.00001")


def test_update_and_delete(engine: Engine, users: tuple[int, int]) -> None:
    with Session(engine) as session:
        ada = _user(session, users[0])
        collection = create_collection(session, ada, "Old", description="d")
        add_item(session, ada, collection.id, "2506.00003")
        updated = update_collection(session, ada, collection.id, name="New", public=True)
        assert (updated.name, updated.description, updated.is_public) == ("New", "d", True)
        delete_collection(session, ada, collection.id)
        assert user_collections(session, ada) == []
        assert session.scalar(select(func.count()).select_from(CollectionItem)) == 0
        with pytest.raises(NotFound):
            delete_collection(session, ada, collection.id)
