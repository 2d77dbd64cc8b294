"""The residents read model: kept from the register's events (directly through the handlers,
and once through Kafka), and the planner's grouped count of who is waiting, as of a date."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest

from jemput.outreach.adapters.tables import ResidentView
from jemput.outreach.service_layer.resident_view import village_demand
from jemput.outreach.testing import (
    OTHER_VILLAGE,
    VILLAGE,
    Outreach,
    inbound,
    nik,
    registered,
    start_outreach,
)
from jemput.shared.events.residents import (
    EktpStatusChangedV1,
    ResidentChangedV1,
    ResidentMovedOutV1,
)
from jemput.shared.messaging.kafka import make_producer

START, END = date(2026, 12, 1), date(2026, 12, 31)
TURNS_17_MID_MONTH = date(2009, 12, 15)
TURNS_17_NEXT_YEAR = date(2010, 1, 15)


async def read(outreach: Outreach, serial: int, born: date = date(1990, 5, 17)) -> ResidentView:
    async with outreach.runtime.sessions() as session:
        found = await session.get(ResidentView, nik(serial, born))
        assert found is not None
        return found


async def demand(outreach: Outreach) -> dict[str, tuple[int, tuple[tuple[date, int], ...]]]:
    async with outreach.runtime.read_sessions() as session:
        rows = await village_demand(session, START, END)
    return {v.village_code: (v.waiting, v.upcoming) for v in rows}


async def test_events_keep_the_view(outreach: Outreach) -> None:
    await outreach.apply(
        [
            registered(1),
            registered(2, ektp_status="CARD_ISSUED"),
            registered(3, birth_date=TURNS_17_MID_MONTH),
            registered(4, birth_date=TURNS_17_MID_MONTH, marital_status="KAWIN"),
            registered(5, village_code=OTHER_VILLAGE),
            registered(6, birth_date=TURNS_17_NEXT_YEAR),
            registered(7),
        ]
    )
    # Waiting on 1 December: 1, 4 (married, so eligible) in the village, 5 in the other; 3
    # becomes eligible on the 15th; 6 only next year; 2 is recorded.
    assert await demand(outreach) == {
        VILLAGE: (3, ((TURNS_17_MID_MONTH.replace(year=2026), 1),)),
        OTHER_VILLAGE: (1, ()),
    }
    await outreach.apply(
        [
            ResidentMovedOutV1(nik=nik(7), village_code=VILLAGE, moved_on=date(2026, 11, 20)),
            EktpStatusChangedV1(
                nik=nik(1),
                village_code=VILLAGE,
                from_status="BELUM_REKAM",
                to_status="SUDAH_REKAM",
                suket_outstanding=False,
                changed_at=outreach.clock.now(),
            ),
            # A stale snapshot of the register does not undo the recording.
            ResidentChangedV1(
                nik=nik(1),
                village_code=VILLAGE,
                birth_date=date(1990, 5, 17),
                sex="P",
                marital_status="KAWIN",
                ektp_status="BELUM_REKAM",
            ),
        ]
    )
    one = await read(outreach, 1)
    assert (one.recorded, one.ever_married, one.ektp_status) == (True, True, "BELUM_REKAM")
    assert (await read(outreach, 7)).domiciled is False
    assert (await demand(outreach))[VILLAGE][0] == 1  # only 4 still waits on the 1st


@pytest.fixture
async def consuming(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Outreach]:
    async for driver in start_outreach(
        database_url, kafka_bootstrap, kafka_namespace, consumer_enabled=True
    ):
        yield driver


@pytest.mark.kafka
async def test_the_view_follows_the_register_topic(
    consuming: Outreach, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    producer = make_producer(kafka_bootstrap, client_id="test-register")
    await producer.start()
    try:
        for payload in [registered(11), registered(12, village_code=OTHER_VILLAGE)]:
            event = inbound(payload).envelope
            await producer.send_and_wait(
                f"{kafka_namespace}jemput.residents.v1",
                value=event.data,
                key=payload.partition_key().encode(),
                headers=event.headers(),
            )
    finally:
        await producer.stop()
    for _ in range(300):
        if {VILLAGE, OTHER_VILLAGE} <= set(await demand(consuming)):
            break
        await asyncio.sleep(0.1)
    assert await demand(consuming) == {VILLAGE: (1, ()), OTHER_VILLAGE: (1, ())}
