"""The residents' dated changes, summed, give exactly the counts that coverage reads from the
residents themselves (SQLite and PostgreSQL), on every day: random residents with birthdays
(29 February too), marriages, move-outs, undated milestones, duplicates near midnight, SUKETs
issued, revoked and issued again."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.analytics.adapters.tables import read_model_tables
from jemput.analytics.domain.area_changes import (
    ALL_MEASURES,
    MEASURES,
    RECORDED_DAY,
    ChangeKey,
    changes,
    difference,
)
from jemput.analytics.domain.resident_facts import UNDATED, ResidentFacts
from jemput.analytics.service_layer.coverage import counts_from_residents
from jemput.shared.db import create_engine
from jemput.shared.testing.fixtures import migrate

VILLAGES = ("16.02.05.1001", "16.02.13.2005")
FIRST, LAST = date(2026, 2, 20), date(2026, 3, 10)


def _day(rng: random.Random, *, undated: bool = True) -> date | None:
    pick = rng.random()
    if pick < 0.3:
        return None
    if undated and pick < 0.4:
        return UNDATED
    return FIRST + timedelta(days=rng.randrange(-3, (LAST - FIRST).days + 3))


def _instant(rng: random.Random) -> datetime | None:
    if rng.random() < 0.4:
        return None
    # Hours around the office's midnight (17:00 UTC) too.
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC) - timedelta(days=3)
    return start + timedelta(hours=rng.randrange(0, 24 * 22))


def random_facts(rng: random.Random, n: int) -> list[ResidentFacts]:
    births = [date(2009, 2, 28), date(2008, 2, 29), date(2009, 3, 1), date(2009, 3, 5)]
    found = []
    for i in range(n):
        described = rng.random() > 0.1
        suket_at, revoked_at = _instant(rng), _instant(rng)
        found.append(
            ResidentFacts(
                nik=f"1602{i:012d}",
                village_code=rng.choice(VILLAGES) if described else None,
                birth_date=(
                    (rng.choice(births) if rng.random() < 0.5 else date(1990, 1, 1))
                    if described
                    else None
                ),
                ever_married=rng.random() < 0.2 if described else None,
                left_on=_day(rng, undated=False) if rng.random() < 0.3 else None,
                recorded_on=_day(rng),
                print_ready_on=_day(rng),
                print_ready_at=_instant(rng),
                duplicate_at=_instant(rng),
                printed_on=_day(rng),
                issued_on=_day(rng),
                suket_on=_day(rng),
                suket_at=suket_at,
                suket_revoked_on=(
                    revoked_at.astimezone(UTC).date() + timedelta(days=rng.randrange(0, 2))
                    if revoked_at
                    else None
                ),
                suket_revoked_at=revoked_at,
            )
        )
    return found


def counts_as_of(summed: Counter[ChangeKey], village: str, day: date) -> dict[str, int]:
    """One village's counts as of `day`: its changes up to that day, summed."""
    totals = dict.fromkeys(ALL_MEASURES, 0)
    for key, n in summed.items():
        if key.village_code == village and key.day <= day:
            totals[key.measure] += n
    return totals


def _row(facts: ResidentFacts) -> dict[str, Any]:
    row = {name: getattr(facts, name) for name in ResidentFacts.__dataclass_fields__}
    row["district_code"] = facts.district_code
    row["regency_code"] = facts.regency_code
    return row


async def _store(engine: AsyncEngine, facts: list[ResidentFacts]) -> None:
    tables = read_model_tables(1)
    async with engine.begin() as conn:
        await conn.execute(tables.resident.insert(), [_row(f) for f in facts])


async def test_summed_changes_equal_the_counts_read_from_residents(database_url: str) -> None:
    await migrate("analytics", database_url)
    facts = random_facts(random.Random(15), 600)
    engine = create_engine(database_url)
    try:
        await _store(engine, facts)
        summed: Counter[ChangeKey] = Counter()
        for f in facts:
            summed.update(changes(f))
        tables = read_model_tables(1)
        day = FIRST - timedelta(days=4)
        seen_nonzero = Counter[str]()
        async with engine.connect() as conn:
            while day <= LAST + timedelta(days=4):
                read = await counts_from_residents(conn, tables, day, group="village_code")
                for village in VILLAGES:
                    expected = read[village]
                    got = counts_as_of(summed, village, day)
                    assert {m: got[m] for m in MEASURES} == {
                        m: getattr(expected, m) for m in MEASURES
                    }, (village, day)
                    seen_nonzero.update(m for m in MEASURES if got[m])
                day += timedelta(days=1)
        # Every count was exercised, not only zeros.
        assert set(seen_nonzero) == set(MEASURES)
    finally:
        await engine.dispose()


def test_recordings_per_day_count_each_recorded_resident_once_on_their_day() -> None:
    facts = [f for f in random_facts(random.Random(3), 300) if f.village_code]
    summed: Counter[ChangeKey] = Counter()
    for f in facts:
        summed.update(changes(f))
    for village in VILLAGES:
        for offset in range(-3, 22):
            day = FIRST + timedelta(days=offset)
            expected = sum(1 for f in facts if f.village_code == village and f.recorded_on == day)
            assert summed[ChangeKey(village, day, RECORDED_DAY)] == expected


def test_applying_the_differences_of_any_history_ends_at_the_final_changes() -> None:
    """However a resident's facts moved (any order of events, repeats), the differences applied
    one after the other leave exactly the changes of the last facts: nothing drifts."""
    rng = random.Random(11)
    for _ in range(200):
        history: list[ResidentFacts | None] = [None, *random_facts(rng, rng.randrange(1, 6))]
        applied: Counter[ChangeKey] = Counter()
        for old, new in pairwise(history):
            applied.update(difference(old, new))
        final = changes(history[-1])
        assert {k: n for k, n in applied.items() if n} == {k: n for k, n in final.items() if n}


def test_a_resident_unknown_to_the_register_changes_no_area() -> None:
    assert changes(ResidentFacts(nik="1602000000000001", recorded_on=date(2026, 3, 1))) == {}
    assert changes(None) == {}
