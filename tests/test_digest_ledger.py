"""The digest ledger against a real SMTP server on loopback (aiosmtpd): a mail is never sent twice,
and one that is not sent is never lost silently.

A connection dropped before the message went out is retried; one dropped after the whole message
went out, with no answer, is *uncertain*: the server may have it (the key case: a server that
accepts the message and drops the connection before its 250), so it is never sent again by itself,
only with ``resend_interrupted``. A claim that never reached DATA belongs to a run that stopped and
is taken over after a minute; a run whose claim was taken over abandons that message. Runs killed
at each of these steps: tests/test_digest_crash.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import DigestDelivery, Subscription
from dailypapers.digest.send import CLAIM_TIMEOUT_S, send_digests
from dailypapers.mail import Mail, MailConnection, open_connection
from dailypapers.services.subscriptions import confirm, subscribe
from tests.helpers import add_papers, record
from tests.smtp_server import ScriptedSmtp, smtp_server

DAY = date(2025, 6, 20)
KEY = "day:2025-06-20"


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtp]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, engine: Engine, smtp: ScriptedSmtp) -> Settings:
    add_papers(engine, record("2506.10001", DAY.isoformat(), title="Speech tokens that listen"))
    return settings.model_copy(
        update={"smtp_url": smtp.url, "digest_retry_delay_s": 0.01, "secret_key": "test-secret"}
    )


def readers(engine: Engine, *emails: str) -> list[int]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        subs = [subscribe(session, email).subscription for email in emails]
        for sub in subs:
            confirm(session, sub)
    return [sub.id for sub in subs]


def ledger(engine: Engine) -> dict[int, tuple[str, int, str | None, str | None]]:
    """subscription id → (status, attempts, Message-ID, error)."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                DigestDelivery.subscription_id,
                DigestDelivery.status,
                DigestDelivery.attempts,
                DigestDelivery.message_id,
                DigestDelivery.error,
            )
        )
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def claim(engine: Engine, subscription_id: int, *, age_s: float) -> None:
    """The row a run leaves between its claim and DATA, ``age_s`` seconds ago."""
    with Session(engine) as session, session.begin():
        session.add(
            DigestDelivery(
                subscription_id=subscription_id,
                period_key=KEY,
                status="claimed",
                attempts=1,
                claimed_at=utcnow() - timedelta(seconds=age_s),
            )
        )


def test_a_connection_dropped_before_the_message_is_retried(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp
) -> None:
    one, two = readers(engine, "one@example.org", "two@example.org")
    smtp.mail_replies = ["close"]  # the first MAIL command: nothing of the message went out
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (report.sent, report.uncertain, report.failed) == (2, 0, 0)
    assert sorted(smtp.recipients()) == ["one@example.org", "two@example.org"]
    assert [ledger(engine)[i][:2] for i in (one, two)] == [("sent", 2), ("sent", 1)]


@pytest.mark.parametrize("kept", [True, False], ids=["server-kept-it", "server-lost-it"])
def test_no_answer_after_the_message_is_uncertain_and_never_sent_again_by_itself(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp, kept: bool
) -> None:
    one, two = readers(engine, "one@example.org", "two@example.org")
    # the whole message went out; the server drops the connection without an answer, after
    # keeping the message (accept-close) or not (close): the sender cannot tell which
    smtp.replies = ["accept-close" if kept else "close"]
    report = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (report.sent, report.uncertain, report.deferred) == (1, 1, 0)
    assert "1 uncertain (no answer after the message: not sent again)" in report.line()
    assert smtp.attempts == 2  # not retried: the second attempt is the other reader's
    status, attempts, message_id, error = ledger(engine)[one]
    assert (
        (status, attempts) == ("sending", 1) and message_id and "may have accepted" in (error or "")
    )
    assert any(message_id in note for note in report.errors)  # to look up in the server's log
    assert ledger(engine)[two][0] == "sent"
    assert sorted(smtp.recipients()) == (["one@example.org"] if kept else []) + ["two@example.org"]

    again = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (again.sent, again.interrupted) == (0, 1) and smtp.attempts == 2
    assert "1 interrupted by an earlier run (not sent again)" in again.line()

    # the operator looked for the Message-ID in the mail server's log; sent on request only
    resent = send_digests(
        engine, mail_settings, frequency="daily", day=DAY, resend_interrupted=True
    )
    assert resent.sent == 1 and ledger(engine)[one][:2] == ("sent", 2)
    copies = [m for m in smtp.messages() if m["To"] == "one@example.org"]
    assert len(copies) == (2 if kept else 1)
    assert {m["Message-ID"] for m in copies} == {message_id}  # a mail store can drop the second


def test_a_fresh_claim_is_left_to_its_run_and_a_stale_one_is_taken_over(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp
) -> None:
    [sub] = readers(engine, "claimed@example.org")
    claim(engine, sub, age_s=1)  # another run claimed it a second ago and may be sending it
    fresh = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (fresh.due, fresh.sent, fresh.claimed_elsewhere) == (0, 0, 1)
    assert "1 claimed by another run under a minute ago" in fresh.line()
    assert smtp.raw == [] and ledger(engine)[sub][:2] == ("claimed", 1)

    with Session(engine) as session, session.begin():  # a minute later: that run stopped
        session.execute(
            update(DigestDelivery).values(
                claimed_at=utcnow() - timedelta(seconds=CLAIM_TIMEOUT_S + 1)
            )
        )
    stale = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (stale.sent, stale.claimed_elsewhere, stale.interrupted) == (1, 0, 0)
    assert smtp.recipients() == ["claimed@example.org"] and ledger(engine)[sub][:2] == ("sent", 2)


class TakenOverOnce:
    """A connection during whose first MAIL..DATA another run takes the claim over (as a run does
    with a claim older than CLAIM_TIMEOUT_S: a new claim number)."""

    def __init__(self, inner: MailConnection, takeover: Callable[[], None]) -> None:
        self.inner, self.takeover = inner, takeover

    def send(self, mail: Mail, before_data: Callable[[], None] | None = None) -> None:
        takeover, self.takeover = self.takeover, lambda: None
        takeover()
        self.inner.send(mail, before_data)

    def close(self) -> None:
        self.inner.close()


def test_a_run_whose_claim_was_taken_over_abandons_the_message(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp
) -> None:
    slow, other = readers(engine, "slow@example.org", "other@example.org")

    def another_run_claims_it() -> None:
        with Session(engine) as session, session.begin():
            session.execute(
                update(DigestDelivery)
                .where(DigestDelivery.subscription_id == slow)
                .values(attempts=DigestDelivery.attempts + 1, claimed_at=utcnow())
            )

    connection = TakenOverOnce(open_connection(mail_settings), another_run_claims_it)
    try:
        report = send_digests(
            engine, mail_settings, frequency="daily", day=DAY, connection=connection
        )
    finally:
        connection.close()
    assert (report.sent, report.uncertain, report.deferred, report.failed) == (1, 0, 0, 0)
    assert smtp.recipients() == ["other@example.org"]  # the message was abandoned at DATA
    assert ledger(engine)[slow][:2] == ("claimed", 2)  # the other run's row, untouched
    assert ledger(engine)[other][0] == "sent"


def test_two_runs_at_once_send_each_digest_once(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp
) -> None:
    readers(engine, *(f"reader{n}@example.org" for n in range(40)))
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(send_digests, engine, mail_settings, frequency="daily", day=DAY)
            for _ in range(2)
        ]
        reports = [run.result() for run in runs]
    assert sum(r.sent for r in reports) == 40
    assert sorted(smtp.recipients()) == sorted(f"reader{n}@example.org" for n in range(40))


def test_a_row_left_sending_is_reported_and_resent_only_on_request(
    engine: Engine, mail_settings: Settings, smtp: ScriptedSmtp
) -> None:
    [sub] = readers(engine, "inflight@example.org")
    with Session(engine) as session, session.begin():  # a run killed after the message went out
        session.add(
            DigestDelivery(
                subscription_id=sub,
                period_key=KEY,
                status="sending",
                attempts=1,
                message_id="<digest-1@example.org>",
                claimed_at=utcnow() - timedelta(hours=1),
            )
        )
    plain = send_digests(engine, mail_settings, frequency="daily", day=DAY)
    assert (plain.sent, plain.interrupted) == (0, 1) and smtp.raw == []
    assert "1 interrupted by an earlier run (not sent again)" in plain.line()
    assert any("<digest-1@example.org>" in note for note in plain.errors)
    again = send_digests(engine, mail_settings, frequency="daily", day=DAY, resend_interrupted=True)
    assert again.sent == 1 and smtp.recipients() == ["inflight@example.org"]
    assert ledger(engine)[sub][:2] == ("sent", 2)
    with Session(engine) as session:
        assert session.scalar(select(Subscription.bounces)) == 0
