"""From event sequences to numbers on a real database (SQLite and PostgreSQL): coverage and the
card pipeline per area, a birthday moving a resident into the denominator, and the same numbers
whatever order the events arrive in and however often."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.analytics.adapters.tables import read_model_tables
from jemput.analytics.service_layer.coverage import AreaCounts, coverage
from jemput.analytics.testing import (
    KAYU_AGUNG_VILLAGE,
    LEMPUING_VILLAGE,
    apply,
    empty_read_models,
    inbound,
    resident,
)
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
    ResidentMovedOutV1,
    SuketStatusChangedV1,
)
from jemput.shared.messaging.handlers import InboundEvent
from jemput.shared.reference.areas import Area, load_area_table
from jemput.shared.testing.fixtures import migrate

WIB = ZoneInfo("Asia/Jakarta")


def wib(day: int, hour: int = 9) -> datetime:
    """A moment of November 2026 at the office."""
    return datetime(2026, 11, day, hour, tzinfo=WIB)


def area(code: str) -> Area:
    found = load_area_table().get(code)
    assert found is not None
    return found


async def report(engine: AsyncEngine, code: str, as_of: date) -> Any:
    async with engine.connect() as conn:
        return await coverage(conn, load_area_table(), area(code), as_of)


async def test_coverage_counts_eligible_and_recorded_per_child_area(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    events = [
        resident(KAYU_AGUNG_VILLAGE, date(1980, 1, 1), status="SUDAH_REKAM", serial=1),
        resident(KAYU_AGUNG_VILLAGE, date(1990, 1, 1), serial=2),
        resident(KAYU_AGUNG_VILLAGE, date(2009, 11, 29), serial=3),  # 17 on 29 Nov 2026
        resident(KAYU_AGUNG_VILLAGE, date(2012, 3, 3), marital="KAWIN", serial=4),  # married
        resident(LEMPUING_VILLAGE, date(1970, 6, 1), status="CARD_ISSUED", serial=5),
    ]
    await apply(engine, [inbound(e) for e in events])
    before = await report(engine, "16.02", date(2026, 11, 28))
    birthday = await report(engine, "16.02", date(2026, 11, 29))
    village = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 28))
    await engine.dispose()

    assert (before.total.eligible, before.total.recorded) == (4, 2)
    assert (birthday.total.eligible, birthday.total.recorded) == (5, 2)  # a birthday moved one in
    assert before.total.counts.issued == 1 and before.total.counts.printed == 1
    assert len(before.children) == 18  # every district of OKI, empty ones included
    by_code = {c.area.code: c for c in before.children}
    assert (by_code["16.02.05"].eligible, by_code["16.02.05"].recorded) == (3, 1)
    assert by_code["16.02.05"].counts.residents == 4
    assert by_code["16.02.13"].coverage == 1.0
    assert by_code["16.02.02"].flags == ["no_denominator"]
    assert village.children == []  # a village has no child areas
    assert (village.total.area.code, village.total.eligible) == (KAYU_AGUNG_VILLAGE, 3)


def timeline() -> list[InboundEvent[Any]]:
    """Six residents of OKI through November 2026, in the order things happened."""
    adult = date(1980, 5, 5)
    a, b, c, d = (resident(KAYU_AGUNG_VILLAGE, adult, serial=n) for n in (1, 2, 3, 4))
    e = resident(KAYU_AGUNG_VILLAGE, date(2009, 11, 25), serial=5)  # 17 on 25 November
    f = resident(KAYU_AGUNG_VILLAGE, adult, serial=6)
    f_moved_within = ResidentChangedV1(**f.model_dump() | {"village_code": LEMPUING_VILLAGE})

    def recording(who: Any, day: int, n: int) -> RecordingCapturedV1:
        return RecordingCapturedV1(
            recording_id=f"rec-{n}", nik=who.nik, captured_at=wib(day), session_id="s1"
        )

    return [
        *(inbound(p, at=wib(1)) for p in (a, b, c, d, e, f)),
        inbound(recording(a, 10, 1), at=wib(10)),
        inbound(recording(b, 11, 2), at=wib(11)),
        inbound(recording(c, 11, 3), at=wib(11)),
        inbound(PrintReadyV1(nik=a.nik, village_code=a.village_code, decided_at=wib(12))),
        inbound(PrintReadyV1(nik=c.nik, village_code=c.village_code, decided_at=wib(12))),
        inbound(DuplicateFlaggedV1(nik=b.nik, village_code=b.village_code, decided_at=wib(13))),
        inbound(
            SuketIssuedV1(
                nik=c.nik, suket_number="S-1", issued_at=wib(13), valid_until=date(2027, 5, 13)
            ),
            at=wib(13),  # the read model keeps when inventory issued it
        ),
        inbound(CardPrintedV1(nik=a.nik, job_id="j1", printed_at=wib(14))),
        inbound(
            ResidentMovedOutV1(nik=d.nik, village_code=d.village_code, moved_on=date(2026, 11, 15)),
            at=wib(15),
        ),
        inbound(CardIssuedV1(nik=a.nik, job_id="j1", issued_at=wib(16))),
        inbound(f_moved_within, at=wib(18)),
        inbound(CardPrintedV1(nik=c.nik, job_id="j3", printed_at=wib(25))),
        inbound(CardIssuedV1(nik=c.nik, job_id="j3", issued_at=wib(26))),
    ]


async def numbers(engine: AsyncEngine) -> dict[str, Any]:
    """Everything the read model says: reports on several days, and the rows themselves."""
    result: dict[str, Any] = {}
    for day in (14, 20, 27):
        regency = await report(engine, "16.02", date(2026, 11, day))
        result[f"regency {day}"] = regency.total.counts
        result[f"districts {day}"] = {c.area.code: c.counts for c in regency.children}
    residents = read_model_tables(1).resident
    async with engine.connect() as conn:
        rows = (await conn.execute(select(residents).order_by(residents.c.nik))).all()
    result["rows"] = [tuple(row) for row in rows]
    return result


async def test_the_numbers_follow_the_events(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await apply(engine, timeline())
    got = await numbers(engine)
    await engine.dispose()
    # 20 November: D moved out on the 15th, E is 16 still; A issued, B a duplicate, C on a SUKET.
    assert got["regency 20"] == AreaCounts(
        residents=5,
        eligible=4,
        recorded=3,
        print_ready=2,
        duplicates=1,
        printed=1,
        issued=1,
        suket_outstanding=1,
    )
    # 27 November: E turned 17 on the 25th; C's card was issued on the 26th (SUKET cleared).
    assert got["regency 27"] == AreaCounts(
        residents=5,
        eligible=5,
        recorded=3,
        print_ready=2,
        duplicates=1,
        printed=2,
        issued=2,
        suket_outstanding=0,
    )
    # 14 November: D still lives here; nothing printed yet.
    assert got["regency 14"].eligible == 5 and got["regency 14"].printed == 1
    assert got["districts 27"]["16.02.05"].eligible == 4  # F moved within the regency
    assert got["districts 27"]["16.02.13"].eligible == 1


async def test_the_same_numbers_in_any_order_and_with_repeats(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await apply(engine, timeline())
    expected = await numbers(engine)
    await engine.dispose()

    shuffler = random.Random(7)
    for attempt in range(3):
        events = timeline()
        events = events + shuffler.sample(events, len(events) // 2)  # some arrive twice
        shuffler.shuffle(events)
        if attempt == 0:
            events.reverse()
        fresh = database_url
        if database_url.startswith("sqlite"):
            fresh = database_url.replace("test.db", f"order{attempt}.db")
        else:
            engine = create_engine(database_url)
            await empty_read_models(engine)
            await engine.dispose()
        await migrate("analytics", fresh)
        engine = create_engine(fresh)
        # Some batches of one event, some of many: batches must not change the result.
        await apply(engine, events[:5])
        for event in events[5:9]:
            await apply(engine, [event])
        await apply(engine, events[9:])
        got = await numbers(engine)
        await engine.dispose()
        assert got == expected, f"order {attempt}"


async def test_a_field_recording_counts_even_before_the_resident_arrives(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    known = resident(KAYU_AGUNG_VILLAGE, date(1980, 1, 1), serial=1)
    late = resident(KAYU_AGUNG_VILLAGE, date(1982, 2, 2), serial=2)
    recordings = [
        RecordingCapturedV1(recording_id=f"r{n}", nik=p.nik, captured_at=wib(3))
        for n, p in enumerate((known, late))
    ]
    await apply(engine, [inbound(known, at=wib(1))])
    await apply(engine, [inbound(r) for r in recordings])
    before = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 28))
    await apply(engine, [inbound(late, at=wib(1))])  # the register's event comes after
    after = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 28))
    on_the_2nd = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 2))
    await engine.dispose()
    assert (before.total.eligible, before.total.recorded) == (1, 1)
    assert (after.total.eligible, after.total.recorded) == (2, 2)
    assert on_the_2nd.total.recorded == 0  # recorded on the 3rd


async def test_a_late_old_snapshot_never_undoes_a_recording_or_a_death(database_url: str) -> None:
    from jemput.shared.events.residents import ResidentDiedV1

    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    recorded = resident(KAYU_AGUNG_VILLAGE, date(1980, 1, 1), status="SUDAH_REKAM", serial=1)
    other = resident(KAYU_AGUNG_VILLAGE, date(1981, 1, 1), serial=2)
    late_snapshot = ResidentChangedV1(**recorded.model_dump() | {"ektp_status": "BELUM_REKAM"})
    died = ResidentDiedV1(nik=other.nik, village_code=KAYU_AGUNG_VILLAGE, died_on=date(2026, 11, 1))
    await apply(engine, [inbound(recorded, at=wib(2)), inbound(died, at=wib(3))])
    await apply(engine, [inbound(late_snapshot, at=wib(4)), inbound(other, at=wib(1))])
    got = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 28))
    await engine.dispose()
    assert (got.total.eligible, got.total.recorded) == (1, 1)


async def test_residents_imported_as_recorded_count_on_their_recording_day(
    database_url: str,
) -> None:
    """A snapshot's `recorded_at` is the recording day: the trend, the pace and coverage as of
    a day take it, in whatever order the events come; a snapshot without it (published before
    the field existed) counts as recorded on every day, as before."""
    from jemput.analytics.domain.forecast import Target
    from jemput.analytics.service_layer.progress import progress
    from jemput.analytics.service_layer.targets import Targets
    from jemput.shared.timezone import office_day_start

    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    imported_at = wib(20, 10)  # the import; rows without TGL_REKAM are dated by it

    def registered(serial: int, status: str, recorded_at: datetime | None) -> Any:
        return resident(
            KAYU_AGUNG_VILLAGE,
            date(1980, 1, serial),
            status=status,
            serial=serial,
            recorded_at=recorded_at,
        )

    people = [
        registered(1, "SUDAH_REKAM", office_day_start(date(2026, 11, 5))),
        registered(2, "PRINT_READY_RECORD", office_day_start(date(2026, 11, 16))),
        registered(3, "CARD_ISSUED", office_day_start(date(2025, 1, 6))),
        registered(4, "SUDAH_REKAM", imported_at),
        registered(5, "SUDAH_REKAM", None),
        registered(6, "BELUM_REKAM", None),
    ]
    cleared = PrintReadyV1(
        nik=people[0].nik,
        village_code=KAYU_AGUNG_VILLAGE,
        decided_at=wib(22),
        recorded_at=people[0].recorded_at,
    )
    changed = ResidentChangedV1(**people[1].model_dump() | {"disabled": True})
    # The later events come first: the order must not matter.
    await apply(engine, [inbound(cleared, at=wib(22)), inbound(changed, at=wib(23))])
    await apply(engine, [inbound(p, at=imported_at) for p in people])
    as_of = date(2026, 11, 28)
    targets = Targets({}, Target(0.95, date(2026, 12, 31)))
    async with engine.connect() as conn:
        now = await progress(conn, load_area_table(), area(KAYU_AGUNG_VILLAGE), as_of, targets)
    on_the_4th = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 4))
    on_the_19th = await report(engine, KAYU_AGUNG_VILLAGE, date(2026, 11, 19))
    await engine.dispose()
    daily = {day: n for day, n in now.daily if n}
    assert daily == {date(2026, 11, 5): 1, date(2026, 11, 16): 1, date(2026, 11, 20): 1}
    assert (now.total.recorded_last_short, now.total.recorded_last_long) == (2, 3)
    assert now.total.counts.recorded == 5
    assert on_the_4th.total.recorded == 2  # recorded in 2025, and the one without a day
    assert on_the_19th.total.recorded == 4


async def test_a_revoked_suket_is_not_outstanding_until_a_new_one_is_issued(
    database_url: str,
) -> None:
    """A SUKET holder flagged duplicate: inventory revokes the SUKET and it stops counting
    from that day, whatever order the register's events (which still say a SUKET was held)
    arrive in and however often; re-recorded without a blank, the resident holds a new one."""
    await migrate("analytics", database_url)
    holder = resident(KAYU_AGUNG_VILLAGE, date(1980, 1, 1), serial=1)
    nik, village = holder.nik, holder.village_code

    def suket(number: str, day: int) -> InboundEvent[Any]:
        issued = SuketIssuedV1(
            nik=nik, suket_number=number, issued_at=wib(day), valid_until=date(2027, 5, 1)
        )
        return inbound(issued, at=wib(day))

    register = [
        inbound(holder, at=wib(1)),
        inbound(
            EktpStatusChangedV1(
                nik=nik,
                village_code=village,
                from_status="SUDAH_REKAM",
                to_status="DUPLICATE",
                suket_outstanding=True,
                changed_at=wib(5),
            )
        ),
        inbound(
            SuketStatusChangedV1(
                nik=nik, village_code=village, suket_outstanding=False, changed_at=wib(6)
            )
        ),
    ]
    revoked = inbound(SuketRevokedV1(nik=nik, suket_number="S-1", revoked_at=wib(6)), at=wib(6))

    def recorded(day: int) -> InboundEvent[Any]:
        return inbound(RecordingCapturedV1(recording_id=f"r{day}", nik=nik, captured_at=wib(day)))

    inventory = [recorded(2), suket("S-1", 2), revoked]
    again = [recorded(10), suket("S-2", 10)]

    async def outstanding(engine: AsyncEngine, day: int) -> int:
        return int(
            (await report(engine, village, date(2026, 11, day))).total.counts.suket_outstanding
        )

    for attempt, (first, later) in enumerate(
        [(register + inventory, again), (inventory + register + inventory, again + register)]
    ):
        fresh = database_url
        if database_url.startswith("sqlite"):
            fresh = database_url.replace("test.db", f"revoked{attempt}.db")
        else:
            engine = create_engine(database_url)
            await empty_read_models(engine)
            await engine.dispose()
        await migrate("analytics", fresh)
        engine = create_engine(fresh)
        await apply(engine, first)
        assert [await outstanding(engine, day) for day in (3, 7)] == [1, 0], attempt
        await apply(engine, later)
        await apply(engine, [revoked])  # the revocation again changes nothing
        assert [await outstanding(engine, day) for day in (7, 11)] == [0, 1], attempt
        await engine.dispose()
