"""The dashboard's overview figures on a real database (SQLite and PostgreSQL): coverage month
by month since the drive began, the districts and villages at risk ranked with the pace each
needs, and the request to the ministry by inventory's rule."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.analytics.domain.blank_requests import suggest
from jemput.analytics.domain.forecast import Target
from jemput.analytics.service_layer.coverage import coverage
from jemput.analytics.service_layer.history import coverage_history, month_spans
from jemput.analytics.service_layer.progress import progress
from jemput.analytics.service_layer.risk import at_risk
from jemput.analytics.service_layer.stock import stock
from jemput.analytics.service_layer.targets import Targets
from jemput.analytics.testing import KAYU_AGUNG_VILLAGE, LEMPUING_VILLAGE, apply, inbound, resident
from jemput.shared.db import create_engine
from jemput.shared.events.inventory import BlanksRequestedV1, StockChangedV1
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.reference.areas import Area, load_area_table
from jemput.shared.testing.fixtures import migrate

WIB = ZoneInfo("Asia/Jakarta")
OTHER_KAYU_AGUNG_VILLAGE = "16.02.05.1002"


def area(code: str) -> Area:
    found = load_area_table().get(code)
    assert found is not None
    return found


def recording(n: int, nik: str, day: date) -> RecordingCapturedV1:
    return RecordingCapturedV1(
        recording_id=f"r{n}",
        nik=nik,
        captured_at=datetime(day.year, day.month, day.day, 9, tzinfo=WIB),
    )


async def drive(engine: AsyncEngine) -> None:
    """Ten adults in Kayu Agung's first village, four in its second, four in Lempuing; some
    recorded in September, October and November 2026."""
    people = [
        *(resident(KAYU_AGUNG_VILLAGE, date(1980, 1, 1), serial=n) for n in range(1, 11)),
        *(resident(OTHER_KAYU_AGUNG_VILLAGE, date(1980, 1, 1), serial=n) for n in range(11, 15)),
        *(resident(LEMPUING_VILLAGE, date(1980, 1, 1), serial=n) for n in range(15, 19)),
    ]
    recorded = {
        0: date(2026, 9, 20),
        1: date(2026, 10, 2),
        2: date(2026, 10, 30),
        3: date(2026, 11, 25),
        10: date(2026, 11, 20),
        11: date(2026, 11, 21),
        12: date(2026, 11, 22),
        14: date(2026, 11, 26),
        15: date(2026, 11, 27),
        16: date(2026, 11, 27),
    }
    await apply(engine, [inbound(p) for p in people])
    await apply(engine, [inbound(recording(i, people[i].nik, d)) for i, d in recorded.items()])


def test_month_ends_start_on_the_first_day_and_end_on_the_day_asked() -> None:
    assert month_spans(date(2026, 9, 20), date(2026, 11, 28)) == [
        (date(2026, 9, 20), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 28)),
    ]
    assert month_spans(date(2026, 12, 1), date(2026, 11, 28)) == []
    assert month_spans(date(2024, 2, 29), date(2024, 2, 29)) == [
        (date(2024, 2, 29), date(2024, 2, 29))
    ]


async def test_coverage_history_is_coverage_at_each_month_end(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await drive(engine)
    areas = load_area_table()
    regency = area("16.02")
    async with engine.connect() as conn:
        history = await coverage_history(conn, regency, date(2026, 11, 28))
        at_ends = [
            (await coverage(conn, areas, regency, d)).total.counts
            for d in (date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 28))
        ]
        from_october = await coverage_history(
            conn, regency, date(2026, 11, 28), since=date(2026, 10, 15)
        )
        empty = await coverage_history(conn, regency, date(2026, 9, 19))
    await engine.dispose()

    assert history.started_on == date(2026, 9, 20)  # the drive's first recording
    assert [m.month for m in history.months] == ["2026-09", "2026-10", "2026-11"]
    assert [m.day for m in history.months] == [
        date(2026, 9, 30),
        date(2026, 10, 31),
        date(2026, 11, 28),
    ]
    assert [m.counts for m in history.months] == at_ends
    # By hand: 18 eligible throughout; 1 recorded by September's end, 3 by October's, 10 now.
    assert [(m.counts.eligible, m.counts.recorded) for m in history.months] == [
        (18, 1),
        (18, 3),
        (18, 10),
    ]
    assert [m.recorded_in_month for m in history.months] == [1, 2, 7]
    assert history.months[-1].coverage == 10 / 18
    # `since` moves the start: October counts from the 15th, so one of its two recordings.
    assert [(m.month, m.recorded_in_month) for m in from_october.months] == [
        ("2026-10", 1),
        ("2026-11", 7),
    ]
    assert empty.months == []  # asked about a day before the drive


async def test_at_risk_ranks_districts_and_villages_with_the_pace_they_need(
    database_url: str,
) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await drive(engine)
    areas = load_area_table()
    today = date(2026, 11, 28)
    # Due on 10 December: 12 days left.
    targets = Targets({}, Target(0.95, date(2026, 12, 10)))
    async with engine.connect() as conn:
        report = await at_risk(conn, areas, area("16.02"), today, targets)
        districts = await progress(conn, areas, area("16.02"), today, targets)
        kayu_agung = await progress(conn, areas, area("16.02.05"), today, targets)
    await engine.dispose()

    # By hand. Kayu Agung: 14 eligible, needs ⌈0.95 x 14⌉ = 14, 7 recorded: lacking 7; 4
    # recorded in the last 14 days, so reached in ⌈7 x 14 / 4⌉ = 25 days, after the due day.
    # Lempuing: 4 eligible, 3 recorded, lacking 1, 3 in 14 days: in 5 days, in time.
    assert [x.progress.area.code for x in report.children] == ["16.02.05"]
    assert report.children == [
        type(report.children[0])(p, area("16.02")) for p in districts.at_risk
    ]
    kayu = report.children[0]
    assert kayu.progress.forecast.lacking == 7
    assert kayu.progress.forecast.pace_needed == 7 / 12
    assert kayu.extra_per_day == 7 / 12 - 4 / 14
    # Villages: Kayu Agung's first lacks 6 (10 needed, 4 recorded, 1 in 14 days): at risk; its
    # second lacks 1 and records 3 in 14 days, like Lempuing's: in time. Looked into even
    # though Lempuing is on track as a district.
    assert [(x.progress.area.code, x.parent.code) for x in report.grandchildren] == [
        (KAYU_AGUNG_VILLAGE, "16.02.05")
    ]
    village = report.grandchildren[0]
    assert (village.progress.forecast.lacking, village.progress.forecast.pace_needed) == (6, 0.5)
    assert village.extra_per_day == 0.5 - 1 / 14
    # The village's figures are those `progress` gives it.
    assert village.progress == kayu_agung.at_risk[0]


def test_the_ministry_request_follows_inventorys_rule() -> None:
    # 12.5 blanks a day, 300 available, 40 owed: reorder point ⌈12.5 x 37⌉ = 463, and 300 - 40
    # is below it; suggested ⌈12.5 x 60⌉ + 40 - 300 = 490.
    wanted = suggest(12.5, 300, 40)
    assert (wanted.reorder_point, wanted.reorder_now, wanted.quantity) == (463, True, 490)
    plenty = suggest(1.0, 5000, 0)
    assert (plenty.reorder_point, plenty.reorder_now, plenty.quantity) == (37, False, 0)
    assert suggest(0.0, 0, 3).quantity == 3  # no demand: the cards owed still are


def requested(n: int, quantity: int, at: datetime) -> BlanksRequestedV1:
    return BlanksRequestedV1(
        location="office",
        request_id=f"req-{n}",
        quantity=quantity,
        suggested_quantity=quantity,
        daily_demand=10.0,
        available=0,
        requested_at=at,
    )


def received(quantity: int, on_hand: int, at: datetime) -> StockChangedV1:
    return StockChangedV1(
        location="office",
        entry_kind="RECEIVED",
        quantity=quantity,
        on_hand=on_hand,
        reserved=0,
        at=at,
    )


async def test_open_requests_are_served_oldest_first_by_the_receipts_since(
    database_url: str,
) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    at = datetime(2026, 11, 2, 9, tzinfo=WIB)
    early = received(50, 50, datetime(2026, 10, 1, 9, tzinfo=WIB))  # before any request
    first, second = requested(1, 300, at), requested(2, 200, at.replace(day=10))
    later = received(400, 450, at.replace(day=20))
    # The second request and the receipt are delivered twice: counted once.
    again = [inbound(second), inbound(later)]
    await apply(engine, [inbound(early), inbound(first), *again])
    await apply(engine, again)
    async with engine.connect() as conn:
        report = await stock(conn, area("16.02"), date(2026, 11, 28))
        before = await stock(conn, area("16.02"), date(2026, 11, 15))
    await engine.dispose()

    # 400 received since the first request: 300 to it, 100 of the second's 200.
    assert [(r.request.request_id, r.received, r.outstanding) for r in report.requests] == [
        ("req-1", 300, 0),
        ("req-2", 100, 100),
    ]
    assert [r.request.request_id for r in report.open_requests] == ["req-2"]
    # On the 15th nothing had come since the requests: both open, in full.
    assert [(r.request.request_id, r.outstanding) for r in before.open_requests] == [
        ("req-1", 300),
        ("req-2", 200),
    ]
