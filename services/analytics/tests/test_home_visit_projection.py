"""Home-visit deadlines from outreach's events on a real database (SQLite and PostgreSQL): met,
closed late and open past the deadline, by office day (WIB), per team, kit and session, and the
same numbers whatever order the events arrive in and however often."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.analytics.adapters.tables import read_model_tables
from jemput.analytics.service_layer.productivity import ProductivityReport, productivity
from jemput.analytics.testing import KAYU_AGUNG_VILLAGE, LEMPUING_VILLAGE, apply, inbound
from jemput.shared.db import create_engine
from jemput.shared.events.outreach import (
    HomeVisitClosedV1,
    HomeVisitRequestedV1,
    SessionScheduledV1,
)
from jemput.shared.messaging.handlers import InboundEvent
from jemput.shared.nik import Sex, make_nik
from jemput.shared.reference.areas import load_area_table
from jemput.shared.testing.fixtures import migrate

WIB = ZoneInfo("Asia/Jakarta")
TODAY = date(2026, 11, 28)
FIRST, LAST = date(2026, 11, 20), date(2026, 12, 1)


def wib(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=WIB)


def request(visit: str, deadline: date, village: str = KAYU_AGUNG_VILLAGE) -> HomeVisitRequestedV1:
    return HomeVisitRequestedV1(
        home_visit_id=visit,
        nik=make_nik(village[:8], date(1950, 1, 1), Sex.FEMALE, len(visit) + ord(visit[-1])),
        village_code=village,
        requested_at=wib(20),
        deadline=deadline,
    )


def closed(opened: HomeVisitRequestedV1, at: datetime, **fields: Any) -> HomeVisitClosedV1:
    values = {"outcome": "recorded"} | fields
    return HomeVisitClosedV1(**opened.model_dump(), closed_at=at, **values)


def timeline() -> list[InboundEvent[Any]]:
    """Seven requests, in the order things happened."""
    a, b = request("hv-a", date(2026, 11, 23)), request("hv-b", date(2026, 11, 23))
    c, d = request("hv-c", date(2026, 11, 24)), request("hv-d", date(2026, 11, 25))
    e, f = (
        request("hv-e", date(2026, 11, 30)),
        request("hv-f", date(2026, 11, 26), LEMPUING_VILLAGE),
    )
    g = request("hv-g", date(2026, 12, 10))
    by_t1 = {"session_id": "s-home", "team_id": "T1"}
    return [
        inbound(
            SessionScheduledV1(
                session_id="s-home",
                kind="home_visit",
                village_code=KAYU_AGUNG_VILLAGE,
                day=date(2026, 11, 23),
                team_id="T1",
                planned_capacity=80,
                kit_serials=("K1",),
            )
        ),
        *(inbound(r) for r in (a, b, c, d, e, f, g)),
        # 23:30 WIB on its deadline: met (16:30 UTC).
        inbound(closed(a, wib(23, 23, 30), **by_t1, kit_serial="K1", recording_id="r-a")),
        # Refused at the door the day before: a deadline met too, whatever the outcome.
        inbound(closed(b, wib(22), outcome="refused", **by_t1)),
        # 00:30 WIB the day after its deadline: late, though still the 23rd in UTC.
        inbound(closed(c, wib(25, 0, 30), session_id="s-other", team_id="T2", kit_serial="K7")),
        # d (due the 25th) and e (due 30 November) stay open; f is in Lempuing, closed in time.
        inbound(closed(f, wib(26, 9), outcome="moved")),
        # g is due on 10 December: outside the range, closed or not.
        inbound(closed(g, wib(27))),
    ]


async def report(engine: AsyncEngine, area: str, today: date = TODAY) -> ProductivityReport:
    found = load_area_table().get(area)
    assert found is not None
    async with engine.connect() as conn:
        return await productivity(conn, found, FIRST, LAST, today=today)


async def numbers(engine: AsyncEngine) -> dict[str, Any]:
    district, regency = await report(engine, "16.02.05"), await report(engine, "16.02")
    visits = read_model_tables(1).home_visit
    async with engine.connect() as conn:
        rows = (await conn.execute(select(visits).order_by(visits.c.home_visit_id))).all()
    return {
        "district": district.home_visits,
        "regency": regency.home_visits,
        "teams": [
            (t.key, t.home_visit_deadlines_met, t.home_visits_closed_late) for t in district.teams
        ],
        "kits": [(k.key, k.home_visit_deadlines_met) for k in district.kits],
        "sessions": [(s.session_id, s.home_visit_deadlines_met) for s in district.sessions],
        "rows": [tuple(row) for row in rows],
    }


async def test_deadlines_met_late_and_open_past_the_deadline(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await apply(engine, timeline())
    got = await numbers(engine)
    before_due = await report(engine, "16.02.05", today=date(2026, 11, 24))
    await engine.dispose()

    district = got["district"]
    # a and b met, c late, d open past its deadline (the 25th), e open and not due yet.
    assert (district.due, district.met, district.closed_late) == (5, 2, 1)
    assert (district.open_past_deadline, district.open_not_yet_due) == (1, 1)
    # The regency adds f in Lempuing, met.
    assert (got["regency"].due, got["regency"].met, got["regency"].open_past_deadline) == (6, 3, 1)
    assert got["teams"] == [("T1", 2, 0), ("T2", 0, 1)]
    assert got["kits"] == [("K1", 1), ("K7", 0)]
    assert got["sessions"] == [("s-home", 2)]
    # On the 24th, d's deadline had not gone by yet.
    assert (before_due.home_visits.open_past_deadline, before_due.home_visits.met) == (0, 2)


async def test_the_same_numbers_in_any_order_and_with_repeats(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await apply(engine, timeline())
    expected = await numbers(engine)

    shuffler = random.Random(11)
    tables = read_model_tables(1)
    for attempt in range(4):
        events = timeline()
        events = events + shuffler.sample(events, len(events) // 2)  # some arrive twice
        shuffler.shuffle(events)
        if attempt == 0:
            events.reverse()  # every closing before its request
        async with engine.begin() as conn:
            for table in (tables.home_visit, tables.session):
                await conn.execute(table.delete())
        # Batches of one and of many must not change the result.
        await apply(engine, events[:4])
        for event in events[4:8]:
            await apply(engine, [event])
        await apply(engine, events[8:])
        assert await numbers(engine) == expected, f"order {attempt}"
    await engine.dispose()


async def test_a_closing_before_its_request_counts_and_stays_closed(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    opened = request("hv-x", date(2026, 11, 23))
    # Outreach closes a request once; should two closings ever differ, the earlier stands.
    first = closed(opened, wib(23, 8), session_id="s1", team_id="T1")
    second = closed(opened, wib(26), outcome="refused", session_id="s2", team_id="T2")
    await apply(engine, [inbound(second), inbound(first)])
    alone = (await report(engine, "16.02.05")).home_visits
    await apply(engine, [inbound(opened), inbound(second), inbound(opened)])
    after = await report(engine, "16.02.05")
    await engine.dispose()
    assert (alone.due, alone.met, alone.closed_late) == (1, 1, 0)
    assert (after.home_visits.due, after.home_visits.met, after.home_visits.closed_late) == (
        1,
        1,
        0,
    )
    assert [(t.key, t.home_visit_deadlines_met) for t in after.teams] == [("T1", 1)]
