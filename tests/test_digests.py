"""Email digests end to end on loopback: subscribing through the web app (its mails go to a real
aiosmtpd server), confirming, managing, sending through the ledger, one-click unsubscribing, SMTP
failures (451 then 250, 550, the server down) and bad input. Dropped connections, claims, runs at
once and interrupted mails: test_digest_ledger.py; killed runs: test_digest_crash.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import DigestDelivery, SavedSearch, Subscription
from dailypapers.digest.send import send_digests
from dailypapers.services.subscriptions import (
    ACTIVE,
    BOUNCING,
    UNSUBSCRIBED,
    check_token,
    confirm,
    confirm_token,
    make_token,
    subscribe,
)
from dailypapers.web.app import create_app
from tests.helpers import add_papers, record
from tests.smtp_server import ScriptedSmtp, body, smtp_server

DAY = date(2025, 6, 20)  # a Friday with papers
NEXT_DAY = date(2025, 6, 23)


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
        }
    )


@pytest.fixture
def papers(engine: Engine) -> None:
    add_papers(
        engine,
        record(
            "2506.10001",
            DAY.isoformat(),
            title="Speech tokens that listen",
            categories=["cs.CL"],
            abstract="We study speech. " * 40,
            code_url="https://github.com/example/speech",
        ),
        record(
            "2506.10002", DAY.isoformat(), title="Robots that fold laundry", categories=["cs.RO"]
        ),
        record("2506.10003", NEXT_DAY.isoformat(), title="Monday paper", categories=["cs.CL"]),
    )


@pytest.fixture
def web(mail_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings)) as client:
        yield client


def csrf(client: TestClient) -> str:
    if "dp_csrf" not in client.cookies:
        client.get("/digest/subscribe")
    return client.cookies["dp_csrf"]


def post(client: TestClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(
        url, data={"csrf_token": csrf(client), **(data or {})}, follow_redirects=False
    )


def link(message: EmailMessage, path: str) -> str:
    found = re.search(
        r"https?://[^\s\"<>]+" + re.escape(path) + r"\?[^\s\"<>]+", body(message, "plain")
    )
    assert found, body(message, "plain")
    return found.group(0).replace("http://testserver", "")


def subscription(engine: Engine, email: str) -> Subscription:
    with Session(engine) as session:
        found = session.scalar(select(Subscription).where(Subscription.email == email))
        assert found is not None
        session.expunge(found)
        return found


def active(engine: Engine, email: str, **prefs: Any) -> Subscription:
    """A confirmed subscription (the mail round trip is tested once, in the full flow)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        sub = subscribe(session, email).subscription
        for name, value in prefs.items():
            setattr(sub, name, value)
        confirm(session, sub)
        return sub


def deliveries(engine: Engine) -> list[tuple[str, str, int]]:
    with Session(engine) as session:
        rows = session.execute(
            select(DigestDelivery.period_key, DigestDelivery.status, DigestDelivery.attempts)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


# --- the full flow ------------------------------------------------------------------------------


def test_subscribe_confirm_digest_unsubscribe(
    web: TestClient, engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    page = post(web, "/subscribe", {"email": "Reader@Example.org"})
    assert page.status_code == 200 and "Check your inbox" in page.text
    [confirmation] = smtp.messages()
    assert confirmation["To"] == "reader@example.org"
    assert send_digests(engine, mail_settings, frequency="daily", day=DAY).sent == 0  # pending

    confirm_url = link(confirmation, "/digest/confirm")
    assert "Confirm my subscription" in web.get(confirm_url).text
    assert subscription(engine, "reader@example.org").status != ACTIVE  # opening changes nothing
    token = unescape(confirm_url.split("token=")[1])
    done = post(web, "/digest/confirm", {"token": token})
    assert done.status_code == 303 and done.headers["location"].startswith("/digest/manage?token=")
    manage = web.get(done.headers["location"])
    assert "You are subscribed" in manage.text
    manage_token = done.headers["location"].split("token=")[1]
    saved = post(
        web,
        "/digest/manage",
        {"token": manage_token, "frequency": "daily", "trending": "true", "categories": "cs.CL"},
    )
    assert saved.status_code == 303
    sub = subscription(engine, "reader@example.org")
    assert (sub.status, sub.categories, sub.trending) == (ACTIVE, "cs.CL", True)

    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (report.sent, report.failed, report.empty) == (1, 0, 0)
    digest = smtp.messages()[-1]
    assert digest["To"] == "reader@example.org" and digest["Date"]
    assert digest["Message-ID"].startswith("<digest.day.2025-06-20.")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    urls = re.findall(r"<([^>]+)>", str(digest["List-Unsubscribe"]))
    assert urls[0].startswith("http://testserver/digest/unsubscribe?token=")
    assert urls[1].startswith("mailto:digest@papers.example.org?subject=unsubscribe")
    html, text = body(digest, "html"), body(digest, "plain")
    assert '<a class="title" href="http://testserver/papers/2506.10001"' in html
    assert 'style="' in html and "<style" not in html  # CSS inlined
    assert "https://github.com/example/speech" in html and "arxiv.org/pdf/2506.10001" in html
    assert "New in cs.CL" in html and "Trending" in html and "Robots that fold laundry" in html
    assert "Monday paper" not in html  # another day
    assert "Speech tokens that listen" in text and "Ada Lovelace, Alan Turing" in text
    abstract_line = next(line for line in text.splitlines() if "We study speech" in line)
    assert len(abstract_line) < 240 and abstract_line.endswith("…")
    view = web.get(link(digest, "/digest/view"))
    assert view.status_code == 200 and "Speech tokens that listen" in view.text

    assert send_digests(engine, mail_settings, frequency="daily", day=DAY).sent == 0  # once

    # RFC 8058: the provider POSTs to the header's URL, without cookies or CSRF token
    with TestClient(web.app) as provider:
        leave = provider.post(
            urls[0].replace("http://testserver", ""),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert leave.status_code == 200 and "gets no more digests" in leave.text
    assert subscription(engine, "reader@example.org").status == UNSUBSCRIBED
    before = len(smtp.raw)
    assert send_digests(engine, mail_settings, frequency="daily", day=NEXT_DAY).sent == 0
    assert len(smtp.raw) == before


def test_subscribing_again_reveals_nothing_and_mails_the_manage_link(
    web: TestClient, engine: Engine, smtp: ScriptedSmtp
) -> None:
    active(engine, "known@example.org")
    known = post(web, "/subscribe", {"email": "known@example.org"})
    new = post(web, "/subscribe", {"email": "new@example.org"})
    assert known.text.replace("known@", "X@") == new.text.replace("new@", "X@")
    api_known = web.post("/api/subscriptions", json={"email": "known@example.org"})
    api_new = web.post("/api/subscriptions", json={"email": "other@example.org"})
    assert api_known.status_code == api_new.status_code == 202
    assert api_known.json() == api_new.json()
    by_rcpt = {m["To"]: m for m in smtp.messages()}
    assert "/digest/manage?token=" in body(by_rcpt["known@example.org"], "plain")
    assert "/digest/confirm?token=" in body(by_rcpt["new@example.org"], "plain")


def test_search_page_offers_it_as_a_digest_section(
    web: TestClient, engine: Engine, smtp: ScriptedSmtp, papers: None
) -> None:
    assert "/digest/subscribe?q=speech" in web.get("/search?q=speech").text
    assert "speech" in web.get("/digest/subscribe?q=speech").text
    post(web, "/subscribe", {"email": "s@example.org", "q": "speech", "category": "cs.CL"})
    with Session(engine) as session:
        [saved] = session.scalars(select(SavedSearch)).all()
        assert (saved.query, saved.category) == ("speech", "cs.CL")


def test_saved_search_section_and_manage_page(
    web: TestClient, engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    sub = active(engine, "s@example.org", trending=False)
    token = make_token(b"test-secret", sub, "manage")
    assert post(web, "/digest/searches", {"token": token, "q": "laundry"}).status_code == 303
    assert "“laundry”" in web.get(f"/digest/manage?token={token}").text
    send_digests(engine, mail_settings, frequency="daily", day=DAY)
    html = body(smtp.messages()[-1], "html")
    assert "Search: laundry" in html and "Robots that fold laundry" in html
    assert "Speech tokens" not in html


def test_empty_digests_are_not_sent(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    active(engine, "quiet@example.org", trending=False, categories="math.AG")
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (report.sent, report.empty) == (0, 1) and smtp.raw == [] and deliveries(engine) == []


def test_weekly_digest_covers_the_week_and_daily_skips_days_without_announcements(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    active(engine, "weekly@example.org", frequency="weekly")
    quiet = send_digests(engine, mail_settings, frequency="daily", day=date(2025, 6, 21))
    assert "no announcements" in quiet.line()
    assert send_digests(engine, mail_settings, frequency="daily", day=DAY).sent == 0
    report = send_digests(engine, mail_settings, frequency="weekly", day=DAY)
    assert report.sent == 1 and deliveries(engine) == [("week:2025-W25", "sent", 1)]


def test_dry_run_sends_and_records_nothing(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    active(engine, "a@example.org")
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY, dry_run=True)
    assert report.line().startswith("daily digest 2025-06-20: would send 1")
    assert smtp.raw == [] and deliveries(engine) == []


# --- SMTP failures --------------------------------------------------------------------------------


def test_451_is_retried_then_sent(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    active(engine, "greylisted@example.org", bounces=2, last_error="550 once")
    smtp.replies = ["451 4.7.1 Greylisted, try again later"]
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (report.sent, report.deferred, report.failed) == (1, 0, 0)
    assert smtp.recipients() == ["greylisted@example.org"] and smtp.attempts == 2
    assert deliveries(engine) == [("day:2025-06-20", "sent", 2)]
    sub = subscription(engine, "greylisted@example.org")
    assert (sub.bounces, sub.last_error) == (0, None)  # bounces count in a row


def test_temporary_failures_are_bounded_and_deferred_to_the_next_run(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    active(engine, "busy@example.org")
    smtp.replies = ["452 4.3.1 Out of memory"] * 4  # the first try and 3 retries
    first = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (first.sent, first.deferred) == (0, 1) and smtp.attempts == 4
    assert deliveries(engine) == [("day:2025-06-20", "deferred", 4)]
    again = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert again.sent == 1 and smtp.recipients() == ["busy@example.org"]


def test_550_counts_until_the_address_is_bouncing(
    engine: Engine, settings: Settings, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    configured = mail_settings.model_copy(update={"digest_bounce_limit": 2})
    active(engine, "gone@example.org")
    smtp.replies = ["550 5.1.1 No such user"] * 10
    first = send_digests(engine, configured, frequency="daily", day=DAY)
    assert (first.failed, first.bouncing) == (1, 0) and smtp.attempts == 1  # never retried
    second = send_digests(engine, configured, frequency="daily", day=NEXT_DAY)
    assert (second.failed, second.bouncing) == (1, 1)
    sub = subscription(engine, "gone@example.org")
    assert sub.status == BOUNCING and "550" in (sub.last_error or "")
    add_papers(engine, record("2506.10004", "2025-06-24", categories=["cs.CL"]))
    third = send_digests(engine, configured, frequency="daily", day=date(2025, 6, 24))
    assert third.due == 0 and smtp.attempts == 2 and smtp.raw == []  # never mailed again


def test_unreachable_server_stops_the_run_and_keeps_the_mail_for_later(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, papers: None
) -> None:
    active(engine, "later@example.org")
    broken = mail_settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:9"})
    report = send_digests(engine, broken, frequency="daily", day=DAY)
    assert report.stopped and "could not connect" in report.line()
    assert send_digests(engine, mail_settings, frequency="daily", day=DAY).sent == 1


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["not-an-address", "a@b", "a@b.c\r\nBcc: x@y.z", "a@b.c\nBcc: x@y.z", "@example.org"]
)
def test_invalid_addresses_are_refused(
    web: TestClient, engine: Engine, smtp: ScriptedSmtp, address: str
) -> None:
    form = post(web, "/subscribe", {"email": address})
    assert (
        form.status_code == 400 and "valid email address" in form.text or "line break" in form.text
    )
    api = web.post("/api/subscriptions", json={"email": address})
    assert api.status_code == 400 and "error" in api.json()
    with Session(engine) as session:
        assert session.scalar(select(func.count(Subscription.id))) == 0
    assert smtp.raw == []


@pytest.mark.parametrize(("listen", "refused"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_no_subscription_mail_without_a_public_address_on_a_reachable_server(
    mail_settings: Settings, engine: Engine, smtp: ScriptedSmtp, listen: str, refused: bool
) -> None:
    """The links in subscription mails follow the sign-in rule: without DAILYPAPERS_BASE_URL,
    only a server listening on a loopback address sends them (to http://HOST:PORT)."""
    open_settings = mail_settings.model_copy(update={"base_url": "", "host": listen})
    with TestClient(create_app(open_settings)) as client:
        form = post(client, "/subscribe", {"email": "reader@example.org"})
        api = client.post("/api/subscriptions", json={"email": "other@example.org"})
    if refused:
        assert form.status_code == api.status_code == 503
        assert "DAILYPAPERS_BASE_URL" in form.text and "DAILYPAPERS_BASE_URL" in api.json()["error"]
        assert smtp.raw == []
    else:
        assert form.status_code == 200 and api.status_code == 202
        assert "http://127.0.0.1:8000/digest/confirm?token=" in body(smtp.messages()[0], "plain")


def test_bad_api_bodies_are_400(web: TestClient) -> None:
    assert web.post("/api/subscriptions", json={}).status_code == 400
    assert (
        web.post(
            "/api/subscriptions", content=b"{", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    weekly = web.post("/api/subscriptions", json={"email": "a@example.org", "frequency": "hourly"})
    assert weekly.status_code == 400 and "daily or weekly" in weekly.json()["error"]


def test_tampered_and_expired_links_get_a_clear_page_and_change_nothing(
    web: TestClient, engine: Engine
) -> None:
    sub = active(engine, "keep@example.org")
    good = make_token(b"test-secret", sub, "unsubscribe")
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for url in (
        f"/digest/unsubscribe?token={tampered}",
        f"/digest/manage?token={good}",  # an unsubscribe token is not a manage token
        "/digest/confirm?token=garbage",
        "/digest/view?token=1.0.x&period=day:2025-06-20",
    ):
        page = web.get(url)
        assert page.status_code == 400 and "this link is not valid" in page.text
    with TestClient(web.app) as outsider:
        refused = outsider.post(f"/digest/unsubscribe?token={tampered}")
    assert refused.status_code == 400
    assert (
        post(web, "/digest/manage", {"token": tampered, "frequency": "weekly"}).status_code == 400
    )
    old = confirm_token(b"test-secret", sub, now=utcnow() - timedelta(days=4))
    expired = web.get(f"/digest/confirm?token={old}")
    assert expired.status_code == 400 and "expired" in expired.text
    after = subscription(engine, "keep@example.org")
    assert (after.status, after.frequency) == (ACTIVE, "daily")


def test_bad_preferences_are_400(web: TestClient, engine: Engine) -> None:
    sub = active(engine, "p@example.org")
    token = make_token(b"test-secret", sub, "manage")
    bad = post(web, "/digest/manage", {"token": token, "more_categories": "cs.CL; DROP"})
    assert bad.status_code == 400 and "not an arXiv category" in bad.text
    long = post(web, "/digest/searches", {"token": token, "q": " "})
    assert long.status_code == 400


def test_subscribing_is_rate_limited(web: TestClient, smtp: ScriptedSmtp) -> None:
    codes = [post(web, "/subscribe", {"email": "flood@example.org"}).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429] and len(smtp.raw) == 5


def test_tokens_are_bound_to_purpose_subscription_and_key(engine: Engine) -> None:
    sub = active(engine, "t@example.org")
    with Session(engine) as session:
        token = make_token(b"k", sub, "view", extra="day:2025-06-20")
        assert check_token(session, b"k", token, "view", extra="day:2025-06-20").id == sub.id
        for secret, extra in ((b"other", "day:2025-06-20"), (b"k", "day:2025-06-19")):
            with pytest.raises(Exception, match="not valid"):
                check_token(session, secret, token, "view", extra=extra)
