"""The bundled sample (``src/dailypapers/sample``, built by ``scripts/build_sample.py``): two whole
weeks of announcement days, none a copy of another, and as many papers as the README says."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.models import Paper
from dailypapers.services.sample import sample_files

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def ids_of(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["id"] for line in handle if line.strip()]


def sample_days() -> dict[date, list[str]]:
    return {date.fromisoformat(p.name[:10]): ids_of(p) for p in sample_files()}


def test_the_sample_is_two_whole_weeks_of_weekdays() -> None:
    days = sorted(sample_days())
    assert len(days) == 10
    assert days[0].weekday() == 0 and days[-1] - days[0] == timedelta(days=11)  # Monday to Friday
    assert all(day.weekday() < 5 for day in days)


def test_no_day_repeats_another_days_papers() -> None:
    """The recorded 2025-06-20 listing was 2025-06-19's again: a Friday without papers."""
    seen: set[str] = set()
    for day, ids in sorted(sample_days().items()):
        new = set(ids) - seen
        assert len(new) > len(ids) / 2, f"{day}: most of its papers were announced before"
        seen |= set(ids)


def readme_count() -> int:
    found = re.search(r"to 4 July 2025:\s+([\d,]+) papers", README)
    assert found, "README's Quick start no longer says how many papers the sample has"
    return int(found.group(1).replace(",", ""))


def test_readme_states_the_number_of_papers_exactly(sample_settings: Settings) -> None:
    unique = {arxiv_id for ids in sample_days().values() for arxiv_id in ids}
    assert readme_count() == len(unique)
    engine = make_engine(sample_settings.resolved_database_url)
    try:
        with Session(engine) as session:
            loaded = session.scalar(select(func.count(Paper.id)))
            rows = session.execute(
                select(Paper.announced_on, func.count()).group_by(Paper.announced_on)
            ).all()
    finally:
        engine.dispose()
    assert loaded == len(unique)  # what the demo loads
    per_day = {day: int(count) for day, count in rows}
    assert set(per_day) == set(sample_days()) and min(per_day.values()) > 100
