"""Sending a period's digests exactly once, through the delivery ledger.

For each due subscriber: render, **claim** (insert the ledger row ``sending``, unique per
subscription and period, and commit), hand the mail to the SMTP server, and **mark** it ``sent``
in its own commit the moment the server accepts the DATA. A run killed anywhere and run again
sends the remaining mails and none twice: a claimed row is never claimed again (except
``deferred`` ones), so two runs at once cannot both send a mail either.

The residual window: a run killed after its claim and before the mark leaves the row at
``sending``. Whether the server accepted that one mail is unknown, and it is not sent again
(a possible miss rather than a possible duplicate); runs report such rows as ``interrupted``.
An operator who checked the mail server's log can send them with ``resend_interrupted``
(``digest send --resend-interrupted``); the Message-ID is fixed per subscriber and period, so a
mail store that already has the message can drop the second copy.

Temporary failures (4xx, a dropped connection) are retried within the run after
``digest_retry_delay_s``, doubling, at most ``digest_max_retries`` times; then the row is
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
from datetime import date
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.dialect import dialect_insert
from dailypapers.db.models import DigestDelivery, Paper, Subscription
from dailypapers.digest.compose import DigestRenderer
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
    open_connection,
)
from dailypapers.services.feeds import latest_day
from dailypapers.services.periods import Period
from dailypapers.services.subscriptions import ACTIVE, BOUNCING, Frequency

log = logging.getLogger(__name__)

SENDING, SENT, DEFERRED, FAILED = "sending", "sent", "deferred", "failed"
DONE = (SENDING, SENT, FAILED)  # rows that keep a subscriber out of a run for that period


@dataclass
class RunReport:
    """What a run did; ``line()`` is what the CLI and the job log print."""

    period: str = ""
    due: int = 0
    sent: int = 0
    empty: int = 0
    deferred: int = 0
    failed: int = 0
    bouncing: int = 0  # addresses marked bouncing by this run
    interrupted: int = 0  # rows an earlier run left in flight (not sent again)
    dry_run: bool = False
    note: str = ""
    stopped: str = ""  # why the run stopped early (the mail server is unreachable)
    render_s: float = 0.0  # CPU seconds spent choosing and rendering
    smtp_s: float = 0.0  # CPU seconds spent building messages and talking SMTP
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.note:
            return self.note
        verb = "would send" if self.dry_run else "sent"
        done = self.due if self.dry_run else self.sent
        text = f"{self.period}: {verb} {done}, {self.empty} empty (not sent)"
        if not self.dry_run:
            text += f", {self.deferred} deferred, {self.failed} failed"
        if self.bouncing:
            text += f", {self.bouncing} addresses now bouncing"
        if self.interrupted:
            text += f", {self.interrupted} interrupted by an earlier run (not sent again)"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text


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
        self._seq = 0

    def run(self, *, dry_run: bool = False) -> RunReport:
        self.report.dry_run = dry_run
        # The run owns this session and commits many short transactions on purpose: each claim
        # and each mark is durable on its own (the module docstring), never one per run.
        with Session(self.engine, expire_on_commit=False) as session:
            self.report.interrupted = 0 if self.resend_interrupted else self._interrupted(session)
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

    def _interrupted(self, session: Session) -> int:
        count = session.scalar(
            select(func.count(DigestDelivery.id)).where(
                DigestDelivery.period_key == self.key, DigestDelivery.status == SENDING
            )
        )
        return int(count or 0)

    def _due(self, session: Session) -> list[Subscription]:
        """Active subscribers of this frequency without a sent, failed or in-flight row."""
        handled = exists().where(
            DigestDelivery.subscription_id == Subscription.id,
            DigestDelivery.period_key == self.key,
            DigestDelivery.status.in_([s for s in DONE if s not in self.retake]),
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

    def _claim(self, session: Session, subscription_id: int) -> int | None:
        """Insert (or take back a deferred) ledger row; its id, or None when it is not ours."""
        if self._claim_statement is None:  # built once per run: building costs more than running
            insert = dialect_insert(session, DigestDelivery).values(
                subscription_id=bindparam("subscription_id"),
                period_key=self.key,
                status=SENDING,
                attempts=1,
                claimed_at=bindparam("now"),
            )
            self._claim_statement = insert.on_conflict_do_update(
                index_elements=[DigestDelivery.subscription_id, DigestDelivery.period_key],
                set_={
                    "status": SENDING,
                    "attempts": DigestDelivery.attempts + 1,
                    "claimed_at": insert.excluded.claimed_at,
                },
                where=DigestDelivery.status.in_(self.retake),
            ).returning(DigestDelivery.id)
        values = {"subscription_id": subscription_id, "now": utcnow()}
        # Core execution: the ORM path adds ~0.3 ms per statement and nothing we use here
        claimed = session.connection().execute(self._claim_statement, values).scalar_one_or_none()
        session.commit()  # durable before a byte goes to the mail server
        return claimed

    def _finish(self, session: Session, delivery_id: int, status: str, **values: object) -> None:
        session.execute(
            update(DigestDelivery)
            .where(DigestDelivery.id == delivery_id)
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        )

    def _mark_sent(self, session: Session, delivery_id: int, message_id: str | None) -> None:
        if self._sent_statement is None:
            self._sent_statement = (
                update(DigestDelivery)
                .where(DigestDelivery.id == bindparam("delivery_id"))
                .values(status=SENT, sent_at=bindparam("now"), message_id=bindparam("message_id"))
                .execution_options(synchronize_session=False)
            )
        values = {"delivery_id": delivery_id, "now": utcnow(), "message_id": message_id}
        session.connection().execute(self._sent_statement, values)

    # --- delivering -----------------------------------------------------------------------------

    def _deliver(self, session: Session, subscription_id: int, mail: Mail, attempt: int) -> None:
        delivery_id = self._claim(session, subscription_id)
        if delivery_id is None:
            return  # another run has it
        started = time.process_time()
        try:
            self.connection.send(mail)
        except MailServerDown as exc:
            self._finish(session, delivery_id, DEFERRED, error=str(exc))
            session.commit()  # its own transaction: the row is free for the next run at once
            raise
        except TemporaryMailError as exc:
            self._temporary(session, delivery_id, subscription_id, mail, attempt, str(exc))
        except PermanentMailError as exc:
            self._permanent(session, delivery_id, subscription_id, mail.to, str(exc))
        except MailError as exc:  # the mail itself is malformed: nothing a retry would fix
            self._permanent(session, delivery_id, subscription_id, mail.to, str(exc))
        else:
            self._mark_sent(session, delivery_id, mail.message_id)
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
        delivery_id: int,
        subscription_id: int,
        mail: Mail,
        attempt: int,
        error: str,
    ) -> None:
        self._finish(session, delivery_id, DEFERRED, error=error)
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
        self, session: Session, delivery_id: int, subscription_id: int, to: str, error: str
    ) -> None:
        self._finish(session, delivery_id, FAILED, error=error)
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
