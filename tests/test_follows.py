"""Following an author: the author page's button, the signals page, and "papers by X" first in
For you (the page, the API's recommendations with their reason)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import User
from dailypapers.db.signals import AuthorFollow
from dailypapers.embeddings.store import embed_pending
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.errors import Invalid, NotFound
from dailypapers.services.feeds import feed_filters
from dailypapers.services.follows import follow_author, followed_authors, unfollow_author
from dailypapers.services.for_you import for_you
from dailypapers.services.periods import Period
from dailypapers.services.retrain import retrain_stale
from dailypapers.services.votes import vote
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, count, post, record, sign_in_as

GRAPH = "graph neural network message passing over nodes and edges of molecules"
SPEECH = "speech recognition of audio waveforms spoken language acoustic model"
# 250 characters (the Guinness record holder's name, cut): longer than 0010's 200-character key
LONG_NAME = (
    "Hubert Blaine Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschafers"
    "wessenschafewarenwohlgepflegeundsorgfaltigkeitbeschutzenvonangreifendurchihrraubgierigfeinde"
    "welchevoralternzwolftausendjahresvorandieerscheinenvanderersteerdemenschderraumschiff"
)[:250]
WINDOW = Period("day", date(2025, 6, 14), date(2025, 6, 20))


def _papers(engine: Engine) -> None:
    """Graph papers by Ada Lovelace, speech papers by Grace Hopper (one with 张伟 and one with a
    250-character name), on 2025-06-16..20."""
    records = []
    for i in range(6):
        day = f"2025-06-{16 + i % 5}"
        records.append(
            record(
                f"2506.{100 + i:05d}",
                day,
                title=f"Graphs {i}",
                abstract=f"{GRAPH} {i}",
                authors=["Ada Lovelace"],
            )
        )
        speech_authors = ["Grace Hopper"] + (["张伟"] if i == 0 else [])
        speech_authors += [LONG_NAME] if i == 1 else []
        records.append(
            record(
                f"2506.{200 + i:05d}",
                day,
                title=f"Speech {i}",
                abstract=f"{SPEECH} {i}",
                authors=speech_authors,
            )
        )
    add_papers(engine, *records)
    embed_pending(engine, fake_embedder())


def _user(engine: Engine, email: str = "reader@example.org") -> int:
    with Session(engine) as session, session.begin():
        return add_user(session, email).id


def _follow(engine: Engine, user_id: int, name: str) -> str:
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        return follow_author(session, user, name).name_key


def _list(engine: Engine, user_id: int, **kw: int):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        return for_you(session, user, feed_filters(session, WINDOW), **kw)


def test_a_followed_authors_papers_come_first_with_their_reason(
    engine: Engine, settings: Settings
) -> None:
    _papers(engine)
    user_id = _user(engine)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for arxiv_id in ("2506.00100", "2506.00101", "2506.00102"):  # a graph reader...
            vote(session, user, arxiv_id)
    retrain_stale(engine, settings)
    before = _list(engine, user_id)
    assert before.state == "ready" and before.papers[0].title.startswith("Graphs")
    _follow(engine, user_id, "Hopper, Grace")  # ...who follows a speech author
    after = _list(engine, user_id)
    speech = [p for p in after.papers if p.title.startswith("Speech")]
    assert [p.title[:6] for p in after.papers[:6]] == ["Speech"] * 6
    assert [p.announced_on for p in speech] == sorted(
        (p.announced_on for p in speech), reverse=True
    )
    assert after.followed_names == ["Grace Hopper"]  # the spelling of the papers
    assert all(after.followed[p.id] == "Grace Hopper" for p in speech)
    assert after.total == before.total  # the same papers, none twice
    assert len({p.id for p in after.papers}) == len(after.papers)
    # pages join without a gap or a repeat
    pages = [_list(engine, user_id, limit=4, offset=o).papers for o in (0, 4, 8)]
    joined = [p.id for page in pages for p in page]
    assert joined == [p.id for p in after.papers][:12]


def test_following_bad_input(engine: Engine) -> None:
    _papers(engine)
    user_id = _user(engine)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for name, error in (
            ("Nobody Atall", NotFound),
            ("!!! ???", Invalid),
            ("x" * 301, Invalid),
            (LONG_NAME + " Nobody", NotFound),
        ):
            try:
                follow_author(session, user, name)
            except error:
                pass
            else:
                raise AssertionError(f"{name[:20]!r} was followed")
    key = _follow(engine, user_id, "Grace Hopper")
    assert key == "grace hopper"
    assert _follow(engine, user_id, "HOPPER, Grace") == key  # twice, another spelling: one follow
    assert _follow(engine, user_id, "G. Hopper") == key
    assert _follow(engine, user_id, "张伟") == "张伟"  # non-Latin names keep their letters
    long_key = _follow(engine, user_id, LONG_NAME)  # a 250-character name (PostgreSQL too)
    assert len(long_key) > 200
    assert count(engine, AuthorFollow, AuthorFollow.user_id == user_id) == 3
    assert _list(engine, user_id).followed  # cold start: followed papers still come first
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        assert unfollow_author(session, user, "Hopper Grace")
        assert not unfollow_author(session, user, "Hopper Grace")
        assert not unfollow_author(session, user, "???")
        assert [f.name_key for f in followed_authors(session, user)] == ["张伟", long_key]


def test_the_author_page_follows_and_the_signals_page_unfollows(
    client: TestClient, engine: Engine
) -> None:
    _papers(engine)
    page = client.get("/authors/Grace%20Hopper")
    assert "Sign in</a> to follow" in page.text
    assert post(client, "/follows", {"name": "Grace Hopper"}).status_code in (302, 303, 401)
    user_id = sign_in_as(client, engine, "web@example.org")
    page = client.get("/authors/Grace%20Hopper")
    assert ">Follow</button>" in page.text
    answer = post(client, "/follows", {"name": "Grace Hopper"})
    assert answer.status_code == 303
    assert post(client, "/follows", {"name": "Grace Hopper"}).status_code == 303  # idempotent
    assert count(engine, AuthorFollow, AuthorFollow.user_id == user_id) == 1
    page = client.get("/authors/Grace%20Hopper")
    assert "You follow Grace Hopper" in page.text and ">Unfollow</button>" in page.text
    for_you_page = client.get("/papers/for-you")
    assert "Papers by" in for_you_page.text and "You follow" in for_you_page.text
    signals = client.get("/settings/signals")
    assert "Authors you follow" in signals.text and "Grace Hopper" in signals.text
    # bad input: no papers (404), too long (400), empty (400), non-Latin (fine), no token (403)
    assert post(client, "/follows", {"name": "Nobody Atall"}).status_code == 404
    assert post(client, "/follows", {"name": "x" * 301}).status_code == 400
    assert post(client, "/follows", {"name": ""}).status_code == 400
    assert post(client, "/follows", {"name": "张伟"}).status_code == 303
    assert post(client, "/follows", {"name": LONG_NAME}).status_code == 303
    no_token = client.post("/follows", data={"name": "Grace Hopper"}, follow_redirects=False)
    assert no_token.status_code == 403
    answer = post(client, "/follows/remove", {"name": "Grace Hopper"})
    assert answer.status_code == 303
    assert count(engine, AuthorFollow, AuthorFollow.user_id == user_id) == 2
    assert post(client, "/follows/remove", {"name": "Grace Hopper"}).status_code == 303


def test_the_api_puts_followed_authors_first_with_their_reason(
    client: TestClient, engine: Engine
) -> None:
    _papers(engine)
    with Session(engine) as session, session.begin():
        user = add_user(session, "api@example.org")
        _, raw = create_api_token(session, user, "t")
        user_id = user.id
    _follow(engine, user_id, "Ada Lovelace")
    auth = {"Authorization": f"Bearer {raw}"}
    entries = client.get("/api/recommendations?days=7&limit=8", headers=auth).json()
    assert [e["paper"]["title"][:6] for e in entries[:6]] == ["Graphs"] * 6
    assert entries[0]["reason"] == {"text": "You follow Ada Lovelace", "papers": [], "terms": []}
    assert "You follow" not in entries[6]["reason"]["text"]
    daily = client.get("/api/daily_papers?date=2025-06-20&sort=for_you", headers=auth).json()
    assert daily[0]["reason"]["text"] == "You follow Ada Lovelace"
    from dailypapers.web.api_models import FeedEntry

    for entry in entries:
        FeedEntry.model_validate(entry, strict=False)
