"""The digest's "For you" section, sent through a real SMTP server (aiosmtpd on loopback): the
top 5 of the day from the subscriber's model, each with why (their nearest own papers, linked,
and the words their model weighed most), followed authors first; none for subscribers without
an account or with too few signals."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html import unescape

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import User
from dailypapers.digest.preview import preview_for
from dailypapers.digest.send import send_digests
from dailypapers.embeddings.store import embed_pending
from dailypapers.enrich import terms as terms_module
from dailypapers.services.accounts import add_user
from dailypapers.services.follows import follow_author
from dailypapers.services.retrain import retrain_stale
from dailypapers.services.subscriptions import confirm, subscribe
from dailypapers.services.terms import refresh_term_index
from dailypapers.services.votes import vote
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, record
from tests.smtp_server import ScriptedSmtp, body, smtp_server

DAY = date(2025, 6, 20)
GRAPH = "graph neural network message passing over nodes and edges of molecules"
SPEECH = "speech recognition of audio waveforms spoken language acoustic model"


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtp]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: ScriptedSmtp) -> Settings:
    return settings.model_copy(
        update={
            "smtp_url": smtp.url,
            "mail_from": "Daily Papers <digest@papers.example.org>",
            "digest_retry_delay_s": 0.01,
            "secret_key": "test-secret",
            "base_url": "https://papers.example.org",
        }
    )


@pytest.fixture
def papers(engine: Engine) -> None:
    """The day: 8 graph and 8 speech papers (speech by Grace Hopper); the days before: the
    graph papers readers upvoted."""
    records = [
        record(f"2506.{300 + i:05d}", "2025-06-18", title=f"Old graphs {i}", abstract=GRAPH)
        for i in range(3)
    ]
    for i in range(8):
        records.append(
            record(
                f"2506.{100 + i:05d}", DAY.isoformat(), title=f"Graphs {i}", abstract=f"{GRAPH} {i}"
            )
        )
        records.append(
            record(
                f"2506.{200 + i:05d}",
                DAY.isoformat(),
                title=f"Speech {i}",
                abstract=f"{SPEECH} {i}",
                authors=["Grace Hopper"],
            )
        )
    add_papers(engine, *records)
    embed_pending(engine, fake_embedder())


def _subscriber(engine: Engine, email: str, *, votes: int = 0, follows: str = "") -> None:
    """An active subscription for ``email`` and an account with ``votes`` graph upvotes."""
    with Session(engine) as session, session.begin():
        confirm(session, subscribe(session, email).subscription)
        if votes < 0:
            return  # no account
        user = add_user(session, email)
        for i in range(votes):
            vote(session, user, f"2506.{300 + i:05d}")
        if follows:
            follow_author(session, user, follows)


def _for_you_part(text: str) -> str:
    """The For-you section of a plain-text digest ('' when there is none)."""
    found = re.search(r"^FOR YOU\n(.*?)(?=^[A-Z][A-Z ]+\n-+\n|^-- )", text, re.M | re.S)
    return found.group(1) if found else ""


def test_the_for_you_section_of_a_digest_sent_over_smtp(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    _subscriber(engine, "reader@example.org", votes=3)
    _subscriber(engine, "follower@example.org", votes=3, follows="Grace Hopper")
    _subscriber(engine, "new@example.org", votes=1)  # cold start: no section
    _subscriber(engine, "anonymous@example.org", votes=-1)  # no account: no section
    retrain_stale(engine, mail_settings)
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert report.sent == 4, report.errors
    mails = {m["To"]: m for m in smtp.messages()}
    reader = body(mails["reader@example.org"], "plain")
    section = _for_you_part(reader)
    titles = re.findall(r"^\d+\. (.+)$", section, re.M)
    assert len(titles) == 5 and all(t.startswith("Graphs") for t in titles), section
    reasons = re.findall(r"^   Near your papers?: (.+)$", section, re.M)
    assert len(reasons) == 5
    assert "Old graphs" in reasons[0] and "https://papers.example.org/papers/2506.003" in reasons[0]
    assert reader.index("FOR YOU") < reader.index("TRENDING")
    html = unescape(body(mails["reader@example.org"], "html"))
    assert re.search(r"<h2[^>]*>For you</h2>", html)
    assert re.search(
        r'Near your papers?: <a href="https://papers.example.org/papers/2506\.003', html
    )
    follower = _for_you_part(body(mails["follower@example.org"], "plain"))
    titles = re.findall(r"^\d+\. (.+)$", follower, re.M)
    assert len(titles) == 5 and all(t.startswith("Speech") for t in titles), follower
    assert (
        "You follow: Grace Hopper (https://papers.example.org/authors/Grace%20Hopper)" in follower
    )
    for email in ("new@example.org", "anonymous@example.org"):
        text = body(mails[email], "plain")
        assert "FOR YOU" not in text and "TRENDING" in text
        assert "For you" not in body(mails[email], "html")


def test_view_in_browser_has_the_section_and_a_cold_start_follower_gets_the_follows(
    engine: Engine, mail_settings: Settings, papers: None
) -> None:
    _subscriber(engine, "fan@example.org", votes=0, follows="Hopper, Grace")
    with Session(engine) as session:
        mail = preview_for(session, mail_settings, "fan@example.org", day=DAY)
    section = _for_you_part(mail.text)
    titles = re.findall(r"^\d+\. (.+)$", section, re.M)
    assert len(titles) == 5 and all(t.startswith("Speech") for t in titles)
    assert section.count("You follow: Grace Hopper") == 5


def test_a_reader_who_marked_every_paper_of_the_day_gets_no_section(
    engine: Engine, mail_settings: Settings, papers: None
) -> None:
    _subscriber(engine, "seen@example.org", votes=3)
    with Session(engine) as session, session.begin():
        user = session.query(User).one()
        for i in range(8):
            vote(session, user, f"2506.{100 + i:05d}")
            vote(session, user, f"2506.{200 + i:05d}")
    retrain_stale(engine, mail_settings)
    with Session(engine) as session:
        mail = preview_for(session, mail_settings, "SEEN@example.org", day=DAY)
    assert "FOR YOU" not in mail.text and "TRENDING" in mail.text


def test_the_section_names_the_words_the_model_weighed_in_html_and_text(
    engine: Engine,
    mail_settings: Settings,
    smtp: ScriptedSmtp,
    papers: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the tf-idf index (a corpus this small keeps words of 2+ papers, up to 70% of them),
    each paper of the section says which words the reader's model weighed most, as the site's
    cards and the API's ``reason.terms`` do; the words are the graph papers' own."""
    monkeypatch.setattr(terms_module, "MIN_DF", 2)
    monkeypatch.setattr(terms_module, "MAX_DF", 0.7)
    # the reader's papers: graph papers titled as the day's are (the "Old graphs" papers' "old"
    # would be the one word that sets the reader's papers apart, and the day has none)
    add_papers(
        engine,
        *(
            record(f"2506.{400 + i:05d}", "2025-06-18", title=f"Graphs {i}", abstract=GRAPH)
            for i in range(3)
        ),
    )
    embed_pending(engine, fake_embedder())
    refresh_term_index(engine)
    _subscriber(engine, "reader@example.org")
    with Session(engine) as session, session.begin():
        user = session.query(User).one()
        for i in range(3):
            vote(session, user, f"2506.{400 + i:05d}")
    retrain_stale(engine, mail_settings)
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert report.sent == 1, report.errors
    (mail,) = smtp.messages()
    section = _for_you_part(body(mail, "plain"))
    weighed = re.findall(r"^   Your model weighed most: (.+)$", section, re.M)
    assert len(weighed) == 5, section
    graph_words = set(GRAPH.split())
    for line in weighed:
        terms = line.split(", ")
        assert 1 <= len(terms) <= 3
        assert all(set(term.split()) <= graph_words for term in terms), line
    html = unescape(body(mail, "html"))
    shown = re.findall(r"<div[^>]*>Your model weighed most: ([^<]+)</div>", html)
    assert shown == weighed
