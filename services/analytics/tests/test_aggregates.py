"""The per-area aggregates equal the residents' facts counted one by one, whatever the events'
order, repeats and batches (SQLite and PostgreSQL): random residents with birthdays in the
window (29 February too), marriages, moves within the regency, move-outs and deaths,
recordings, print-ready and duplicate decisions, prints, issues, and SUKETs issued, revoked and
issued again. Every area of every level, every day of the window (before and after the roll
day), recordings and SUKETs per day; then the same aggregates computed in one pass (a rebuild)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jemput.analytics.adapters.tables import ReadModelTables, read_model_tables
from jemput.analytics.domain.area_changes import (
    ALL_MEASURES,
    AWAITING_PRINT,
    RECORDED_DAY,
    SUKET_DAY,
)
from jemput.analytics.domain.resident_facts import UNDATED
from jemput.analytics.service_layer import aggregates, generations
from jemput.analytics.service_layer.aggregates import facts_of
from jemput.analytics.service_layer.coverage import (
    CHILD_GROUP,
    COUNT_NAMES,
    AreaCounts,
    counts_by,
    counts_from_residents,
    scope,
)
from jemput.analytics.testing import apply, empty_read_models, inbound
from jemput.shared.db import create_engine
from jemput.shared.events.inventory import (
    CardIssuedV1,
    CardPrintedV1,
    SuketIssuedV1,
    SuketRevokedV1,
)
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import (
    DuplicateFlaggedV1,
    EktpStatusChangedV1,
    PrintReadyV1,
    ResidentChangedV1,
    ResidentDiedV1,
    ResidentMovedOutV1,
    ResidentRegisteredV1,
    SuketStatusChangedV1,
)
from jemput.shared.messaging.handlers import InboundEvent
from jemput.shared.nik import Sex, make_nik
from jemput.shared.reference.areas import Area, load_area_table
from jemput.shared.testing.fixtures import migrate
from jemput.shared.timezone import today_in_office

WIB = ZoneInfo("Asia/Jakarta")
# Two districts of OKI, two villages each.
VILLAGES = ("16.02.05.1001", "16.02.05.1002", "16.02.13.2005", "16.02.13.2006")
# The window is around today: the aggregates' totals are rolled to today, so days before and
# after the roll day are both read.
TODAY = today_in_office()
FIRST, LAST = TODAY - timedelta(days=12), TODAY + timedelta(days=6)


def _moment(rng: random.Random) -> datetime:
    day = FIRST + timedelta(days=rng.randrange((LAST - FIRST).days + 1))
    # Hours around the office's midnight too.
    return datetime.combine(day, time(rng.choice((0, 9, 16, 23)), rng.randrange(60)), WIB)


def _born(rng: random.Random) -> date:
    pick = rng.random()
    if pick < 0.35:  # 17 within the window
        day = FIRST + timedelta(days=rng.randrange(-2, (LAST - FIRST).days + 2))
        return date(day.year - 17, day.month, day.day) if (day.month, day.day) != (2, 29) else day
    if pick < 0.4:
        return date(2008, 2, 29)
    if pick < 0.55:
        return date(2015, 6, 1)  # a child
    return date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))


def _history(rng: random.Random, serial: int) -> list[InboundEvent[Any]]:
    """One resident's events, in the order things happened."""
    village = rng.choice(VILLAGES)
    born = _born(rng)
    nik = make_nik(village[:8], born, Sex.MALE, serial)
    snapshot: dict[str, Any] = {
        "nik": nik,
        "village_code": village,
        "birth_date": born,
        "sex": "L",
        "marital_status": "KAWIN" if rng.random() < 0.2 else "BELUM_KAWIN",
    }
    if rng.random() < 0.15:  # imported as recorded, with or without the day
        snapshot["ektp_status"] = "SUDAH_REKAM"
        if rng.random() < 0.5:
            snapshot["recorded_at"] = _moment(rng)
    if rng.random() < 0.05:
        snapshot["suket_outstanding"] = True
    registered = _moment(rng) - timedelta(days=30)
    events = [inbound(ResidentRegisteredV1(**snapshot), at=registered)]
    steps = sorted(_moment(rng) for _ in range(6))
    n = iter(range(100))

    def step() -> datetime:
        return steps[next(n) % len(steps)]

    if rng.random() < 0.1:
        moved = rng.choice(VILLAGES)
        changed = snapshot | {"village_code": moved, "marital_status": "KAWIN"}
        events.append(inbound(ResidentChangedV1(**changed), at=step()))
        village = moved
    if rng.random() < 0.7:
        at = step()
        if rng.random() < 0.8:
            events.append(
                inbound(
                    RecordingCapturedV1(
                        recording_id=f"rec-{serial}", nik=nik, captured_at=at, village_code=village
                    ),
                    at=at,
                )
            )
        else:
            events.append(
                inbound(
                    EktpStatusChangedV1(
                        nik=nik,
                        village_code=village,
                        from_status="BELUM_REKAM",
                        to_status="SUDAH_REKAM",
                        suket_outstanding=rng.random() < 0.3,
                        changed_at=at,
                    ),
                    at=at,
                )
            )
        if rng.random() < 0.4:
            at = step()
            events.append(
                inbound(
                    SuketIssuedV1(
                        nik=nik, suket_number=f"S-{serial}", issued_at=at, valid_until=LAST
                    ),
                    at=at,
                )
            )
            if rng.random() < 0.3:
                revoked = step()
                events.append(
                    inbound(
                        SuketRevokedV1(nik=nik, suket_number=f"S-{serial}", revoked_at=revoked),
                        at=revoked,
                    )
                )
        if rng.random() < 0.2:
            at = step()
            events.append(
                inbound(DuplicateFlaggedV1(nik=nik, village_code=village, decided_at=at), at=at)
            )
        if rng.random() < 0.6:
            at = step()
            events.append(inbound(PrintReadyV1(nik=nik, village_code=village, decided_at=at)))
            if rng.random() < 0.6:
                at = step()
                events.append(
                    inbound(
                        CardPrintedV1(
                            nik=nik, job_id=f"j-{serial}", printed_at=at, suket_holder=True
                        )
                    )
                )
                if rng.random() < 0.6:
                    events.append(
                        inbound(CardIssuedV1(nik=nik, job_id=f"j-{serial}", issued_at=step()))
                    )
    if rng.random() < 0.05:
        at = step()
        events.append(
            inbound(
                SuketStatusChangedV1(
                    nik=nik, village_code=village, suket_outstanding=True, changed_at=at
                ),
                at=at,
            )
        )
    if rng.random() < 0.1:
        at = step()
        events.append(
            inbound(ResidentMovedOutV1(nik=nik, village_code=village, moved_on=at.date()), at=at)
        )
    elif rng.random() < 0.05:
        at = step()
        events.append(
            inbound(ResidentDiedV1(nik=nik, village_code=village, died_on=at.date()), at=at)
        )
    return events


def _events(seed: int, residents: int) -> list[InboundEvent[Any]]:
    rng = random.Random(seed)
    return [e for serial in range(1, residents + 1) for e in _history(rng, serial)]


def _areas() -> list[Area]:
    table = load_area_table()
    codes = {"16", "16.02", *(v[:8] for v in VILLAGES), *VILLAGES}
    return [a for a in (table.get(code) for code in sorted(codes)) if a is not None]


async def _expected_daily(
    conn: AsyncConnection, tables: ReadModelTables
) -> dict[str, dict[str, dict[date, int]]]:
    """Recordings and SUKETs per day per area, counted from the residents' facts."""
    rows = (await conn.execute(select(tables.resident))).mappings().all()
    found: dict[str, dict[str, dict[date, int]]] = {RECORDED_DAY: {}, SUKET_DAY: {}}
    for row in rows:
        facts = facts_of(dict(row))
        if facts.village_code is None:
            continue
        v = facts.village_code
        for measure, day in ((RECORDED_DAY, facts.recorded_on), (SUKET_DAY, facts.suket_on)):
            if day is None or day == UNDATED:
                continue
            for code in (v[:2], v[:5], v[:8], v):
                per_day = found[measure].setdefault(code, {})
                per_day[day] = per_day.get(day, 0) + 1
    return found


async def _awaiting_print(conn: AsyncConnection, tables: ReadModelTables, day: date) -> int:
    rows = (await conn.execute(select(tables.resident))).mappings().all()
    return sum(
        1
        for row in rows
        if row["village_code"] is not None
        and row["birth_date"] is not None
        and row["print_ready_on"] is not None
        and row["print_ready_on"] <= day
        and (row["printed_on"] is None or row["printed_on"] > day)
        and (row["left_on"] is None or row["left_on"] > day)
    )


def _nonzero_rows(rows: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {code: row for code, row in rows.items() if any(row.values())}


def _nonzero(counts: dict[str, AreaCounts]) -> dict[str, AreaCounts]:
    return {code: c for code, c in counts.items() if c != AreaCounts()}


async def _check_equal(engine: AsyncEngine) -> dict[str, int]:
    """Aggregates = facts, every area and day; returns how often each count was not zero (so
    that a test of zeros passes for no one)."""
    tables = read_model_tables(1)
    seen: dict[str, int] = {}
    async with engine.connect() as conn:
        day = FIRST - timedelta(days=2)
        while day <= LAST + timedelta(days=2):
            for area in _areas():
                got = await counts_by(conn, tables, day, **scope(area))
                expected = await counts_from_residents(
                    conn, tables, day, group=CHILD_GROUP[area.level], within=area
                )
                assert _nonzero(got) == _nonzero(expected), (area.code, day)
                for counts in expected.values():
                    for name in COUNT_NAMES:
                        seen[name] = seen.get(name, 0) + bool(getattr(counts, name))
            own = (await aggregates.counts(conn, tables, day, codes=["16.02"]))["16.02"]
            assert own[AWAITING_PRINT] == await _awaiting_print(conn, tables, day), day
            seen[AWAITING_PRINT] = seen.get(AWAITING_PRINT, 0) + bool(own[AWAITING_PRINT])
            day += timedelta(days=1)
        # Several days in one read (progress, the monthly history) = each day on its own.
        days = [FIRST - timedelta(days=2) + timedelta(days=i) for i in range(0, 23, 2)]
        for area in _areas():
            read = scope(area)
            many = await aggregates.counts_on(
                conn, tables, days, parents=read.get("parents", ()), codes=read.get("codes", ())
            )
            for day in days:
                one = await aggregates.counts(conn, tables, day, **read)
                assert _nonzero_rows(many[day]) == _nonzero_rows(one), (area.code, day)
        expected_daily = await _expected_daily(conn, tables)
        for measure in (RECORDED_DAY, SUKET_DAY):
            for area in _areas():
                got_daily = await aggregates.daily(
                    conn, tables, measure, FIRST - timedelta(days=40), LAST, codes=[area.code]
                )
                assert got_daily.get(area.code, {}) == expected_daily[measure].get(area.code, {}), (
                    measure,
                    area.code,
                )
                seen[measure] = seen.get(measure, 0) + len(got_daily.get(area.code, {}))
    return seen


async def _aggregate_rows(engine: AsyncEngine) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The non-zero rows of both aggregate tables, totals brought to today's roll day."""
    tables = read_model_tables(1)
    async with engine.connect() as conn:
        assert await aggregates.rolled_to(conn, tables) == TODAY
        change = {
            tuple(row)
            for row in (await conn.execute(select(tables.area_change))).all()
            if any(row[3:])
        }
        total = {
            tuple(row)
            for row in (await conn.execute(select(tables.area_total))).all()
            if any(row[2:])
        }
    return change, total


def _fresh_url(database_url: str, name: str) -> str:
    return (
        database_url.replace("test.db", f"{name}.db")
        if database_url.startswith("sqlite")
        else database_url
    )


async def _fresh(database_url: str, name: str) -> AsyncEngine:
    url = _fresh_url(database_url, name)
    await migrate("analytics", url)
    engine = create_engine(url)
    if not database_url.startswith("sqlite"):
        await empty_read_models(engine)
    return engine


@pytest.mark.parametrize("seed", [2])
async def test_aggregates_equal_the_facts_in_any_order_with_repeats(
    database_url: str, seed: int
) -> None:
    events = _events(seed, 160)
    engine = await _fresh(database_url, f"inorder{seed}")
    try:
        await apply(engine, events)
        seen = await _check_equal(engine)
        # Every count was exercised on some day, not only zeros.
        assert all(seen.get(name, 0) > 0 for name in ALL_MEASURES), seen
        expected_rows = await _aggregate_rows(engine)
    finally:
        await engine.dispose()

    shuffler = random.Random(seed * 31)
    shuffled = events + shuffler.sample(events, len(events) // 3)  # a third arrive twice
    shuffler.shuffle(shuffled)
    engine = await _fresh(database_url, f"shuffled{seed}")
    try:
        # Batches of every size; half-way, totals left rolled to an earlier day, as if no event
        # had come for a while: the next batch rolls them forward.
        cut = len(shuffled) // 2
        position = 0
        while position < len(shuffled):
            size = shuffler.choice((1, 3, 40))
            await apply(engine, shuffled[position : position + size])
            position += size
            if position >= cut > position - size:
                tables = read_model_tables(1)
                async with engine.begin() as conn:
                    await _unroll(conn, tables, TODAY - timedelta(days=5))
        await _check_equal(engine)
        assert await _aggregate_rows(engine) == expected_rows
    finally:
        await engine.dispose()


async def _unroll(conn: AsyncConnection, tables: ReadModelTables, to: date) -> None:
    """Totals as of an earlier day: take away the changes after it, up to the roll day."""
    c = tables.area_change.c
    rolled = await aggregates.rolled_to(conn, tables)
    assert rolled is not None and to < rolled
    later = (
        (await conn.execute(select(tables.area_change).where(c.day > to, c.day <= rolled)))
        .mappings()
        .all()
    )
    total = tables.area_total
    for row in later:
        taken = {m: total.c[m] - row[m] for m in ALL_MEASURES if row[m]}
        if taken:
            await conn.execute(
                update(total).where(total.c.area_code == row["area_code"]).values(taken)
            )
    registry = generations.registry_table()
    await conn.execute(
        update(registry).where(registry.c.generation == tables.generation).values(rolled_to=to)
    )


async def test_aggregates_built_in_one_pass_equal_the_ones_kept_event_by_event(
    database_url: str,
) -> None:
    engine = await _fresh(database_url, "built")
    try:
        await apply(engine, _events(5, 160))
        kept = await _aggregate_rows(engine)
        tables = read_model_tables(1)
        async with engine.begin() as conn:
            await aggregates.clear(conn, tables)
            await aggregates.build(conn, tables, TODAY)
        assert await _aggregate_rows(engine) == kept
        assert kept[0] and kept[1]
        await _check_equal(engine)
    finally:
        await engine.dispose()


async def test_a_generation_without_aggregates_is_left_alone_and_cannot_be_read(
    database_url: str,
) -> None:
    engine = await _fresh(database_url, "unbuilt")
    try:
        tables = read_model_tables(1)
        async with engine.begin() as conn:
            await aggregates.clear(conn, tables)
        await apply(engine, _events(3, 20))
        async with engine.connect() as conn:
            assert (await conn.execute(select(tables.area_change))).first() is None
            with pytest.raises(aggregates.AggregatesNotBuilt):
                await counts_by(conn, tables, TODAY, parents=["16.02"])
    finally:
        await engine.dispose()
