"""What the digest's "For you" section costs a run, on the full 2025 listings (33,641 papers).

    python benchmarks/digest_for_you.py [--users 100]

Builds its database the way ``recommend_speed.py`` does (the listings and every cached vector),
once, in ``benchmarks/.cache/digest-for-you``, and works on a fresh copy of it each run. Makes ``--users`` subscribers with an account (20-200 upvotes each, a
third following an author of the newest day, models trained) and as many without one, then
times what a daily run does per subscriber for the newest day: choose the sections
(``SectionSource.for_subscription``: the For-you ranking for those with an account, shared
cached sections otherwise) and render the mail. The difference between the two groups is the
section's cost; times 10,000 is the issue's "10,000 digest subscribers" figure (one core).

Measured 2026-12-02 18:17 UTC on the shared 2-core machine at load average 10-12 (six engineers'
suites), ``--users 100``, one run:

    newest day 2025-07-04: 409 papers; 100 subscribers in each group
      sections + mail, without an account       1.9 ms per subscriber
      sections + mail, with an account         60.2 ms per subscriber
      For-you sections built: 100 of 100
      the section's cost: 58.3 ms per subscriber -> 583 s for 10,000

So 10,000 subscribers with accounts add ~10 minutes on one core at that load (the issue's target:
10 minutes on 2 cores); the ranking is ``services.recommend.recommend``'s (``recommend_speed.py``
part 3 measures it alone: 70.9 ms at a similar load), the follows and the section add little.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import recommend_speed  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from dailypapers.clock import utcnow  # noqa: E402
from dailypapers.config import Settings  # noqa: E402
from dailypapers.db.engine import make_engine  # noqa: E402
from dailypapers.db.migrate import upgrade  # noqa: E402
from dailypapers.db.models import Paper, Subscription, User, Vote  # noqa: E402
from dailypapers.digest.compose import DigestRenderer  # noqa: E402
from dailypapers.digest.select import SectionSource, digest_period, period_key  # noqa: E402
from dailypapers.services.accounts import add_user  # noqa: E402
from dailypapers.services.follows import follow_author  # noqa: E402
from dailypapers.services.model_state import signals_changed  # noqa: E402
from dailypapers.services.retrain import retrain  # noqa: E402
from dailypapers.services.subscriptions import confirm, subscribe  # noqa: E402

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUILT = Path(__file__).resolve().parent / ".cache" / "digest-for-you" / "built-db"
FOLDER = Path(__file__).resolve().parent / ".cache" / "digest-for-you"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    recommend_speed.FOLDER = BUILT
    recommend_speed.build().dispose()
    FOLDER.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BUILT / "dailypapers.db", FOLDER / "dailypapers.db")  # fresh each run
    engine = make_engine(f"sqlite:///{FOLDER / 'dailypapers.db'}")
    upgrade(engine)
    settings = Settings(data_dir=FOLDER, embedding_model=MODEL, secret_key="bench", _env_file=None)  # type: ignore[call-arg]
    rng = np.random.default_rng(7)
    with Session(engine) as session:
        day = session.scalar(select(func.max(Paper.announced_on)))
        assert day is not None
        ids = np.array(session.scalars(select(Paper.id).order_by(Paper.id)).all())
        on_day = session.scalars(select(Paper).where(Paper.announced_on == day).limit(50)).all()
        authors = [str(p.authors[0]) for p in on_day if p.authors]
        papers_of_day = session.scalar(select(func.count()).where(Paper.announced_on == day))
    accounts, anonymous = [], []
    with Session(engine) as session, session.begin():
        for k in range(args.users):
            user = add_user(session, f"u{k}@example.org")
            session.flush()
            chosen = rng.choice(ids[:-3000], int(rng.integers(20, 200)), replace=False)
            session.execute(
                insert(Vote),
                [{"user_id": user.id, "paper_id": int(p), "created_at": utcnow()} for p in chosen],
            )
            signals_changed(session, user.id)
            if k % 3 == 0 and authors:
                follow_author(session, user, authors[k % len(authors)])
            for email, group in ((user.email, accounts), (f"anon{k}@example.org", anonymous)):
                sub = subscribe(session, email).subscription
                confirm(session, sub)
                group.append(sub.id)
            users = [u.id for u in session.scalars(select(User))]
    for uid in users:
        retrain(engine, settings, uid, MODEL)
    period = digest_period("daily", day)
    with Session(engine) as session:
        source = SectionSource(session, period, settings.digest_papers_per_section)
        renderer = DigestRenderer(settings, b"bench", period, "daily")
        source.for_subscription(session.get(Subscription, anonymous[0]), [])  # warm the shared
        sections = 0

        def one(sub_id: int) -> None:
            nonlocal sections
            sub = session.get(Subscription, sub_id)
            assert sub is not None
            chosen = source.for_subscription(sub, [])
            sections += any(s.kind == "for_you" for s in chosen)
            renderer.mail(sub, chosen, period_key(period))

        times = {}
        for name, group in (("without an account", anonymous), ("with an account", accounts)):
            started = time.perf_counter()
            for sub_id in group:
                one(sub_id)
            times[name] = (time.perf_counter() - started) / len(group) * 1000
    extra = times["with an account"] - times["without an account"]
    print(f"newest day {day}: {papers_of_day} papers; {args.users} subscribers in each group")
    for name, ms in times.items():
        print(f"  sections + mail, {name:20} {ms:8.1f} ms per subscriber")
    print(f"  For-you sections built: {sections} of {args.users}")
    print(f"  the section's cost: {extra:.1f} ms per subscriber -> {extra * 10:.0f} s for 10,000")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
