"""Analytics' projection and coverage query on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.service_layer.coverage import coverage
from jemput.analytics.service_layer.projections import handlers
from jemput.shared.db import create_engine
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.messaging.handlers import InboundEvent
from jemput.shared.nik import Sex, make_nik
from jemput.shared.reference.areas import load_area_table
from jemput.shared.testing.fixtures import migrate


def event(payload: ResidentRegisteredV1) -> InboundEvent[ResidentRegisteredV1]:
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=payload.event_type,
        source="/test",
        time=datetime.now(UTC),
        data=payload.model_dump_json().encode(),
    )
    return InboundEvent(envelope, payload, "t", 0, 0)


def resident(
    village: str,
    born: date,
    marital: str = "BELUM_KAWIN",
    status: str = "BELUM_REKAM",
    serial: int = 1,
) -> ResidentRegisteredV1:
    return ResidentRegisteredV1(
        nik=make_nik(village[:8], born, Sex.MALE, serial),
        village_code=village,
        birth_date=born,
        sex="L",
        marital_status=marital,  # type: ignore[arg-type]
        ektp_status=status,
    )


async def test_coverage_counts_eligible_and_recorded_per_child_area(database_url: str) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    kayu_agung, lempuing = "16.02.05.1001", "16.02.13.2005"
    events = [
        resident(kayu_agung, date(1980, 1, 1), status="SUDAH_REKAM", serial=1),
        resident(kayu_agung, date(1990, 1, 1), serial=2),
        resident(kayu_agung, date(2009, 11, 29), serial=3),  # 17 on 29 Nov 2026
        resident(kayu_agung, date(2012, 3, 3), marital="KAWIN", serial=4),  # married: eligible
        resident(lempuing, date(1970, 6, 1), status="CARD_ISSUED", serial=5),
    ]
    apply = handlers()
    async with AsyncSession(engine) as session, session.begin():
        await apply.apply(session, [event(e) for e in events])
    areas = load_area_table()
    async with AsyncSession(engine) as session:
        before = await coverage(session, areas, areas.get("16.02"), date(2026, 11, 28))  # type: ignore[arg-type]
        birthday = await coverage(session, areas, areas.get("16.02"), date(2026, 11, 29))  # type: ignore[arg-type]
        village = await coverage(session, areas, areas.get(kayu_agung), date(2026, 11, 28))  # type: ignore[arg-type]
    await engine.dispose()

    assert (before.total.eligible, before.total.recorded) == (4, 2)
    assert (birthday.total.eligible, birthday.total.recorded) == (5, 2)  # a birthday moved one in
    assert len(before.children) == 18  # every district of OKI, empty ones included
    by_code = {c.area.code: c for c in before.children}
    assert (by_code["16.02.05"].eligible, by_code["16.02.05"].recorded) == (3, 1)
    assert by_code["16.02.13"].coverage == 1.0
    assert by_code["16.02.02"].flags == ["zero_denominator"]
    assert [c.area.code for c in village.children] == [kayu_agung]
    assert village.total.eligible == 3


async def test_changes_deaths_and_late_snapshots(database_url: str) -> None:
    from jemput.shared.events.residents import ResidentChangedV1, ResidentDiedV1

    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    village = "16.02.05.1001"
    recorded = resident(village, date(1980, 1, 1), status="SUDAH_REKAM", serial=1)
    other = resident(village, date(1981, 1, 1), serial=2)
    late_snapshot = ResidentChangedV1(**recorded.model_dump() | {"ektp_status": "BELUM_REKAM"})
    died = ResidentDiedV1(nik=other.nik, village_code=village, died_on=date(2026, 11, 1))
    apply = handlers()
    async with AsyncSession(engine) as session, session.begin():
        await apply.apply(session, [event(recorded), event(other)])
    async with AsyncSession(engine) as session, session.begin():
        await apply.apply(session, [event(late_snapshot), event(died)])  # type: ignore[arg-type]
    areas = load_area_table()
    async with AsyncSession(engine) as session:
        report = await coverage(session, areas, areas.get(village), date(2026, 11, 28))  # type: ignore[arg-type]
    await engine.dispose()
    assert (report.total.eligible, report.total.recorded) == (1, 1)


async def test_a_field_recording_counts_even_before_the_resident_arrives(database_url: str) -> None:
    from jemput.shared.events.outreach import RecordingCapturedV1

    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    village = "16.02.05.1001"
    known = resident(village, date(1980, 1, 1), serial=1)
    late = resident(village, date(1982, 2, 2), serial=2)
    recordings = [
        RecordingCapturedV1(
            recording_id=f"r{n}", nik=p.nik, captured_at=datetime(2026, 11, 3, tzinfo=UTC)
        )
        for n, p in enumerate((known, late))
    ]
    apply = handlers()
    async with AsyncSession(engine) as session, session.begin():
        await apply.apply(session, [event(known)])
    async with AsyncSession(engine) as session, session.begin():
        await apply.apply(session, [event(r) for r in recordings])  # type: ignore[misc]
    areas = load_area_table()
    async with AsyncSession(engine) as session:
        before = await coverage(session, areas, areas.get(village), date(2026, 11, 28))  # type: ignore[arg-type]
    async with AsyncSession(engine) as session, session.begin():
        await apply.apply(session, [event(late)])  # the register's event comes after
    async with AsyncSession(engine) as session:
        after = await coverage(session, areas, areas.get(village), date(2026, 11, 28))  # type: ignore[arg-type]
    await engine.dispose()
    assert (before.total.eligible, before.total.recorded) == (1, 1)
    assert (after.total.eligible, after.total.recorded) == (2, 2)
