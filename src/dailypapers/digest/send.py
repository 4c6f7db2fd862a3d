"""Sending a period's digests through the delivery ledger: never twice, and none lost silently.

For each due subscriber: render, **claim** (insert the ledger row ``claimed``, unique per
subscription and period, and commit), open the SMTP transaction (MAIL, RCPT, DATA), and once the
server says it is ready for the message (354), mark the row **sending** with the Message-ID and
commit, then send the message; **mark** it ``sent`` in its own commit the moment the server
accepts it. Every mark names the claim it belongs to (``attempts``), so a run whose claim was taken
over writes nothing and abandons that message.

What a run killed, or a connection dropped, at each step leaves:

- after the claim, before the ``sending`` mark (the server cannot have the message): ``claimed``.
  A run that finds a claim older than ``CLAIM_TIMEOUT_S`` takes it over and sends the mail (a
  younger one may belong to a run still going; it is left to it and reported);
- after the ``sending`` mark, before ``sent`` (the server may or may not have it): ``sending``. It
  is never sent again automatically (a possible miss rather than a possible duplicate); runs
  report such rows as ``interrupted``. A live run whose connection drops after the message went
  out, with no answer, leaves the same row (``uncertain`` in its report). An operator who checked
  the mail server's log for the row's Message-ID can send them with ``resend_interrupted``
  (``digest send --resend-interrupted``); the Message-ID is fixed per subscriber and period, so a
  mail store that already has the message can drop the second copy.

Temporary failures (4xx, a dropped connection before the message went out) are retried within the
run after ``digest_retry_delay_s``, doubling, at most ``digest_max_retries`` times; then the row is
``deferred`` and the next run tries again. Permanent failures (5xx) mark the row ``failed`` and
count against the address: after ``digest_bounce_limit`` in a row it is ``bouncing`` and never
mailed again. Empty digests are not sent (and leave no row, so later papers can still go out).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.dialect import dialect_insert
from dailypapers.db.models import DigestDelivery, Paper, Subscription
from dailypapers.digest.compose import DigestRenderer
from dailypapers.digest.report import RunReport
from dailypapers.digest.select import (
    SectionSource,
    digest_period,
    period_key,
    searches_by_subscription,
)
from dailypapers.mail import (
    Mail,
    MailConnection,
    MailError,
    MailServerDown,
    PermanentMailError,
    TemporaryMailError,
    UncertainDelivery,
    open_connection,
)
from dailypapers.services.feeds import latest_day
from dailypapers.services.periods import Period
from dailypapers.services.subscriptions import ACTIVE, BOUNCING, Frequency

log = logging.getLogger(__name__)

CLAIMED, SENDING, SENT = "claimed", "sending", "sent"
DEFERRED, FAILED = "deferred", "failed"
DONE = (SENDING, SENT, FAILED)  # rows that keep a subscriber out of a run for that period
# A claim that has not reached DATA after this long belongs to a run that stopped (claim to DATA
# takes milliseconds). Taking over a live run's claim would still send nothing twice: its marks
# name the claim, so the slow run abandons that message.
CLAIM_TIMEOUT_S = 60


class _TakenOver(Exception):
    """Another run took this claim over: abandon the message, record nothing."""


@dataclass(order=True)
class _Retry:
    due_at: float
    seq: int
    subscription_id: int = field(compare=False)
    mail: Mail = field(compare=False)
    attempt: int = field(compare=False)


class DigestRun:
    """One run for one period and frequency; :func:`send_digests` is the entry point."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        period: Period,
        frequency: Frequency,
        connection: MailConnection,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        resend_interrupted: bool = False,
    ) -> None:
        self.engine = engine
        # Also take rows an earlier run left in flight: for an operator who checked the mail
        # server's log (they may have been delivered), and only while no other run is going.
        self.resend_interrupted = resend_interrupted
        self.retake = (DEFERRED, SENDING) if resend_interrupted else (DEFERRED,)
        self.claim_timeout = timedelta(seconds=0 if resend_interrupted else CLAIM_TIMEOUT_S)
        self.settings = settings
        self.period = period
        self.frequency = frequency
        self.key = period_key(period)
        self.connection = connection
        self.sleep = sleep
        self.clock = clock
        self.report = RunReport(period=f"{frequency} digest {period.label}")
        self.retries: list[_Retry] = []
        self._bounced: set[int] = set()  # subscribers with failures to forget after a success
        self._claim_statement: Any = None
        self._sent_statement: Any = None
        self._sending_statement: Any = None
        self._seq = 0

    def run(self, *, dry_run: bool = False) -> RunReport:
        self.report.dry_run = dry_run
        # The run owns this session and commits many short transactions on purpose: each claim
        # and each mark is durable on its own (the module docstring), never one per run.
        with Session(self.engine, expire_on_commit=False) as session:
            if not self.resend_interrupted:
                self._left_in_flight(session)
            subs = self._due(session)
            self.report.due = len(subs)
            self._bounced = {sub.id for sub in subs if sub.bounces}
            searches = searches_by_subscription(session, [s.id for s in subs])
            source = SectionSource(session, self.period, self.settings.digest_papers_per_section)
            renderer = DigestRenderer(
                self.settings, self.settings.resolved_secret_key(), self.period, self.frequency
            )
            try:
                for sub in subs:
                    started = time.process_time()
                    sections = source.for_subscription(sub, searches.get(sub.id, []))
                    mail = renderer.mail(sub, sections, self.key) if sections else None
                    self.report.render_s += time.process_time() - started
                    if mail is None:
                        self.report.empty += 1
                        self.report.due -= 1
                    elif not dry_run:
                        self._deliver(session, sub.id, mail, attempt=0)
                if not dry_run:
                    self._drain_retries(session)
            except MailServerDown as exc:
                self.report.stopped = str(exc)
        return self.report

    # --- the ledger ---------------------------------------------------------------------------

    def _left_in_flight(self, session: Session) -> None:
        """Report what earlier runs left: messages that may have arrived (with their Message-ID,
        to look for in the mail server's log) and claims too fresh to take over."""
        rows = session.execute(
            select(Subscription.email, DigestDelivery.message_id)
            .join(DigestDelivery, DigestDelivery.subscription_id == Subscription.id)
            .where(DigestDelivery.period_key == self.key, DigestDelivery.status == SENDING)
            .order_by(DigestDelivery.id)
        ).all()
        self.report.interrupted = len(rows)
        for email, message_id in rows:
            self.report.errors.append(
                f"{email}: interrupted after the message went out (Message-ID {message_id});"
                " not sent again"
            )
        fresh = session.scalar(
            select(func.count(DigestDelivery.id)).where(
                DigestDelivery.period_key == self.key, self._fresh_claim()
            )
        )
        self.report.claimed_elsewhere = int(fresh or 0)

    def _fresh_claim(self) -> Any:
        """Claims a run may still be working on: not ours to take."""
        return and_(
            DigestDelivery.status == CLAIMED,
            DigestDelivery.claimed_at > utcnow() - self.claim_timeout,
        )

    def _due(self, session: Session) -> list[Subscription]:
        """Active subscribers of this frequency without a sent, failed, in-flight or fresh row."""
        handled = exists().where(
            DigestDelivery.subscription_id == Subscription.id,
            DigestDelivery.period_key == self.key,
            or_(
                DigestDelivery.status.in_([s for s in DONE if s not in self.retake]),
                self._fresh_claim(),
            ),
        )
        return list(
            session.scalars(
                select(Subscription)
                .where(
                    Subscription.status == ACTIVE,
                    Subscription.frequency == self.frequency,
                    ~handled,
                )
                .order_by(Subscription.id)
            )
        )

    def _claim(self, session: Session, subscription_id: int) -> tuple[int, int] | None:
        """Insert (or take back a deferred row, or a stale claim) the ledger row as ``claimed``;
        its id and claim number (``attempts``), or None when it is not ours."""
        if self._claim_statement is None:  # built once per run: building costs more than running
            insert = dialect_insert(session, DigestDelivery).values(
                subscription_id=bindparam("subscription_id"),
                period_key=self.key,
                status=CLAIMED,
                attempts=1,
                claimed_at=bindparam("now"),
            )
            self._claim_statement = insert.on_conflict_do_update(
                index_elements=[DigestDelivery.subscription_id, DigestDelivery.period_key],
                set_={
                    "status": CLAIMED,
                    "attempts": DigestDelivery.attempts + 1,
                    "claimed_at": insert.excluded.claimed_at,
                },
                where=or_(
                    DigestDelivery.status.in_(self.retake),
                    and_(
                        DigestDelivery.status == CLAIMED,
                        DigestDelivery.claimed_at <= bindparam("stale"),
                    ),
                ),
            ).returning(DigestDelivery.id, DigestDelivery.attempts)
        now = utcnow()
        values = {"subscription_id": subscription_id, "now": now, "stale": now - self.claim_timeout}
        # Core execution: the ORM path adds ~0.3 ms per statement and nothing we use here
        claimed = session.connection().execute(self._claim_statement, values).first()
        session.commit()  # durable before a byte goes to the mail server
        return (claimed[0], claimed[1]) if claimed else None

    def _finish(
        self, session: Session, claim: tuple[int, int], status: str, **values: object
    ) -> None:
        session.execute(
            update(DigestDelivery)
            .where(DigestDelivery.id == claim[0], DigestDelivery.attempts == claim[1])
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        )

    def _mark(self, session: Session, claim: tuple[int, int], status: str, mail: Mail) -> bool:
        """``sending`` (before the message goes out: only from our own claim) or ``sent``."""
        if self._sent_statement is None:
            fenced = update(DigestDelivery).where(
                DigestDelivery.id == bindparam("delivery_id"),
                DigestDelivery.attempts == bindparam("claim_number"),
            )
            self._sending_statement = (
                fenced.where(DigestDelivery.status == CLAIMED)
                .values(status=SENDING, message_id=bindparam("message_id"))
                .execution_options(synchronize_session=False)
            )
            self._sent_statement = fenced.values(
                status=SENT, sent_at=bindparam("now")
            ).execution_options(synchronize_session=False)
        statement = self._sending_statement if status == SENDING else self._sent_statement
        values = {
            "delivery_id": claim[0],
            "claim_number": claim[1],
            "now": utcnow(),
            "message_id": mail.message_id,
        }
        return bool(session.connection().execute(statement, values).rowcount == 1)

    # --- delivering -----------------------------------------------------------------------------

    def _deliver(self, session: Session, subscription_id: int, mail: Mail, attempt: int) -> None:
        claim = self._claim(session, subscription_id)
        if claim is None:
            return  # another run has it

        def before_data() -> None:  # the server waits for the message and cannot have it yet
            if not self._mark(session, claim, SENDING, mail):
                session.rollback()
                raise _TakenOver
            session.commit()  # from here on, a crash leaves the row "sending": never sent again

        started = time.process_time()
        try:
            self.connection.send(mail, before_data=before_data)
        except _TakenOver:
            log.info("%s: claim taken over by another run; not sent by this one", mail.to)
        except MailServerDown as exc:
            self._finish(session, claim, DEFERRED, error=str(exc))
            session.commit()  # its own transaction: the row is free for the next run at once
            raise
        except UncertainDelivery as exc:
            self._finish(session, claim, SENDING, error=str(exc))
            session.commit()
            self.report.uncertain += 1
            self.report.errors.append(f"{mail.to}: {exc} (Message-ID {mail.message_id})")
        except TemporaryMailError as exc:
            self._temporary(session, claim, subscription_id, mail, attempt, str(exc))
        except PermanentMailError as exc:
            self._permanent(session, claim, subscription_id, mail.to, str(exc))
        except MailError as exc:  # the mail itself is malformed: nothing a retry would fix
            self._permanent(session, claim, subscription_id, mail.to, str(exc))
        else:
            self._mark(session, claim, SENT, mail)
            if subscription_id in self._bounced:
                session.execute(
                    update(Subscription)
                    .where(Subscription.id == subscription_id)
                    .values(bounces=0, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            session.commit()  # the mark: right after the server accepted the message
            self.report.sent += 1
        finally:
            self.report.smtp_s += time.process_time() - started

    def _temporary(
        self,
        session: Session,
        claim: tuple[int, int],
        subscription_id: int,
        mail: Mail,
        attempt: int,
        error: str,
    ) -> None:
        self._finish(session, claim, DEFERRED, error=error)
        session.commit()  # its own transaction: a crash while waiting to retry loses no mark
        if attempt < self.settings.digest_max_retries:
            delay = self.settings.digest_retry_delay_s * 2**attempt
            self._seq += 1
            heapq.heappush(
                self.retries,
                _Retry(self.clock() + delay, self._seq, subscription_id, mail, attempt + 1),
            )
        else:
            self.report.deferred += 1
            self.report.errors.append(f"{mail.to}: {error} (deferred to the next run)")

    def _permanent(
        self, session: Session, claim: tuple[int, int], subscription_id: int, to: str, error: str
    ) -> None:
        self._finish(session, claim, FAILED, error=error)
        sub = session.get(Subscription, subscription_id)
        assert sub is not None
        sub.bounces += 1
        sub.last_error = error
        if sub.bounces >= self.settings.digest_bounce_limit:
            sub.status = BOUNCING
            self.report.bouncing += 1
        session.commit()  # its own transaction: the mark and the bounce count, before the next mail
        self.report.failed += 1
        self.report.errors.append(f"{to}: {error}")

    def _drain_retries(self, session: Session) -> None:
        while self.retries:
            retry = heapq.heappop(self.retries)
            wait = retry.due_at - self.clock()
            if wait > 0:
                self.sleep(wait)
            self._deliver(session, retry.subscription_id, retry.mail, retry.attempt)


def announced_papers(session: Session, day: date) -> int:
    return int(session.scalar(select(func.count(Paper.id)).where(Paper.announced_on == day)) or 0)


def resolve_day(
    engine: Engine, frequency: Frequency, day: date | None
) -> tuple[Period | None, str]:
    """The period a run covers (default: the newest announcement day, or its week), or a note
    saying why there is nothing to send (no papers; a daily run on a day without announcements)."""
    with Session(engine) as session:
        chosen = day or latest_day(session)
        if chosen is None:
            return None, "no papers in the database yet: no digests to send"
        if frequency == "daily" and not announced_papers(session, chosen):
            return None, f"{chosen} had no announcements: daily digests go out on announcement days"
    return digest_period(frequency, chosen), ""


def send_digests(
    engine: Engine,
    settings: Settings,
    *,
    frequency: Frequency,
    day: date | None = None,
    dry_run: bool = False,
    connection: MailConnection | None = None,
    sleep: Callable[[float], None] = time.sleep,
    resend_interrupted: bool = False,
) -> RunReport:
    """Send (or with ``dry_run`` count) the ``frequency`` digests of the period holding ``day``."""
    period, note = resolve_day(engine, frequency, day)
    if period is None:
        return RunReport(note=note)
    own = connection is None
    link = connection or open_connection(settings)
    try:
        run = DigestRun(
            engine,
            settings,
            period,
            frequency,
            link,
            sleep=sleep,
            resend_interrupted=resend_interrupted,
        )
        return run.run(dry_run=dry_run)
    finally:
        if own:
            link.close()
