"""The print queue from real events on Kafka: recordings reserve blanks; when blanks run out
residents get SUKETs; arriving blanks serve waiting jobs in order of recording; duplicates
release theirs; printing the same card twice at once gives one success."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest
from sqlmodel import select

from jemput.inventory.adapters.tables import PrintJob, Suket
from jemput.inventory.bootstrap import bootstrap
from jemput.inventory.domain.ledger import Entry, EntryKind, Stock
from jemput.inventory.service_layer import forecasting, ledger, print_queue
from jemput.inventory.settings import InventorySettings
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import (
    DuplicateFlaggedV1,
    PrintReadyV1,
    ResidentChangedV1,
    ResidentRegisteredV1,
    ResidentSnapshot,
)
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.testing.fixtures import migrate

pytestmark = [pytest.mark.kafka]
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def nik(i: int) -> str:
    return f"16020501019{i:05d}"


@pytest.fixture
async def inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[ServiceRuntime]:
    await migrate("inventory", database_url)
    settings = InventorySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
    )
    runtime = bootstrap(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def publish(runtime: ServiceRuntime, events: Sequence[EventPayload]) -> None:
    settings = runtime.settings
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [settings.topic("outreach"), settings.topic("residents")],
        partitions=3,
    )
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="test")
    await producer.start()
    try:
        for payload in events:
            envelope = CloudEvent(
                id=CloudEvent.new_id(),
                type=payload.event_type,
                source=f"/jemput/{payload.producer}",
                time=datetime.now(UTC),
                data=payload.model_dump_json().encode(),
                subject=payload.subject(),
            )
            await producer.send_and_wait(
                settings.topic(payload.producer),
                envelope.data,
                key=payload.partition_key().encode(),
                headers=envelope.headers(),
            )
    finally:
        await producer.stop()


async def until_caught_up(runtime: ServiceRuntime) -> None:
    await asyncio.wait_for(runtime.kafka_ready.wait(), 60)
    assert runtime.consumer is not None
    for _ in range(600):
        if await runtime.consumer.caught_up():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("inventory did not catch up")


async def jobs(runtime: ServiceRuntime) -> dict[str, PrintJob]:
    async with runtime.sessions() as session:
        return {j.nik: j for j in (await session.exec(select(PrintJob))).all()}


async def test_blanks_run_out_sukets_then_waiting_jobs_served_in_order(
    inventory: ServiceRuntime,
) -> None:
    async with inventory.sessions() as session, session.begin():
        await ledger.append(
            session, Entry(EntryKind.RECEIVED, 3, "office"), actor="t", reference="B-1"
        )
    recordings = [
        RecordingCapturedV1(
            recording_id=f"r{i}",
            nik=nik(i),
            captured_at=T0 + timedelta(minutes=i),
            village_code="16.02.05.1001",
        )
        for i in range(1, 7)
    ]
    await publish(inventory, list(recordings))
    await until_caught_up(inventory)
    state = await jobs(inventory)
    with_blank = {n for n, j in state.items() if j.has_blank}
    async with inventory.sessions() as session:
        sukets = {s.nik for s in (await session.exec(select(Suket))).all()}
    # Partitions interleave, so which three came first is not fixed; the split is.
    assert len(with_blank) == 3
    assert sukets == set(state) - with_blank

    # A duplicate gives its blank back, and the oldest waiting job takes it at once.
    waiting_before = sorted(sukets, key=lambda n: state[n].recorded_at)
    dropped = sorted(with_blank)[0]
    await publish(
        inventory,
        [DuplicateFlaggedV1(nik=dropped, village_code="16.02.05.1001", decided_at=T0)],
    )
    await until_caught_up(inventory)
    state = await jobs(inventory)
    assert (state[dropped].state, state[dropped].has_blank) == ("DROPPED", False)
    assert [state[n].has_blank for n in waiting_before] == [True, False, False]

    # One more blank arrives: the next oldest waiting job takes it.
    async with inventory.sessions() as session, session.begin():
        _, served = await print_queue.receive_blanks(
            session,
            inventory.outbox,
            quantity=1,
            location="office",
            reference="B-2",
            serial_from="KTP-000004",
            serial_to="KTP-000004",
            actor="t",
        )
    assert served == 1
    state = await jobs(inventory)
    assert [state[n].has_blank for n in waiting_before] == [True, True, False]
    async with inventory.sessions() as session:
        assert await ledger.replay(session, "office") == Stock(4, 4)


async def test_printing_the_same_card_twice_at_once(inventory: ServiceRuntime) -> None:
    async with inventory.sessions() as session, session.begin():
        await print_queue.receive_blanks(
            session,
            inventory.outbox,
            quantity=2,
            location="office",
            reference="B-1",
            serial_from="K-0001",
            serial_to="K-0002",
            actor="t",
        )
    await publish(
        inventory,
        [
            RecordingCapturedV1(recording_id="r1", nik=nik(1), captured_at=T0),
            PrintReadyV1(
                nik=nik(1), village_code="16.02.05.1001", decided_at=T0 + timedelta(days=3)
            ),
        ],
    )
    await until_caught_up(inventory)
    job = (await jobs(inventory))[nik(1)]
    assert job.print_ready and job.has_blank

    async def operator(serial: str) -> bool:
        try:
            async with inventory.sessions() as session, session.begin():
                await print_queue.print_card(
                    session,
                    inventory.outbox,
                    job_id=job.id,
                    card_serial=serial,
                    at=T0,
                    actor=serial,
                )
                await asyncio.sleep(0.01)  # hold the lock while the other operator tries
            return True
        except print_queue.PrintRefused:
            return False

    results = await asyncio.gather(operator("K-0001"), operator("K-0002"))
    assert sorted(results) == [False, True]
    async with inventory.sessions() as session:
        # The job took one of the two blanks; the other is still available.
        assert await ledger.replay(session, "office") == Stock(1, 0)


async def test_a_print_ready_without_a_recording_takes_the_residents_village_and_day(
    inventory: ServiceRuntime,
) -> None:
    """A central result for a resident recorded before (imported as SUDAH_REKAM) starts a job
    with the resident's village and recording day, not an empty village dated today."""
    recorded = T0 - timedelta(days=40)
    await publish(
        inventory,
        [
            PrintReadyV1(
                nik=nik(900),
                village_code="16.02.05.1003",
                decided_at=T0,
                recorded_at=recorded,
            )
        ],
    )
    await until_caught_up(inventory)
    job = (await jobs(inventory))[nik(900)]
    assert job.village_code == "16.02.05.1003"
    assert job.recorded_at == recorded
    assert job.print_ready
    async with inventory.sessions() as session:
        sukets = (await session.exec(select(Suket).where(Suket.nik == nik(900)))).all()
    assert [s.issued_at for s in sukets] == [recorded]


# --- the register's snapshots -----------------------------------------------------------------

VILLAGE, SESSION_VILLAGE = "16.02.05.1003", "16.02.05.1001"


def registered(
    i: int,
    status: str,
    *,
    recorded_at: datetime | None = None,
    domicile: Literal["RESIDENT", "MOVED_OUT", "DECEASED"] = "RESIDENT",
    changed: bool = False,
) -> ResidentSnapshot:
    kind = ResidentChangedV1 if changed else ResidentRegisteredV1
    return kind(
        nik=nik(i),
        village_code=VILLAGE,
        birth_date=date(1980, 1, 1),
        sex="L",
        marital_status="KAWIN",
        ektp_status=status,
        domicile_status=domicile,
        recorded_at=recorded_at,
    )


async def jobs_of(runtime: ServiceRuntime, i: int) -> list[PrintJob]:
    async with runtime.sessions() as session:
        return list((await session.exec(select(PrintJob).where(PrintJob.nik == nik(i)))).all())


async def sukets_of(runtime: ServiceRuntime) -> dict[str, list[datetime]]:
    async with runtime.sessions() as session:
        found: dict[str, list[datetime]] = {}
        for suket in (await session.exec(select(Suket))).all():
            found.setdefault(suket.nik, []).append(suket.issued_at)
        return found


async def owed(runtime: ServiceRuntime) -> tuple[int, int]:
    async with runtime.sessions() as session:
        return await forecasting.owed(session, "office")


async def test_register_snapshots_put_recorded_residents_in_the_queue_by_recording_day(
    inventory: ServiceRuntime,
) -> None:
    """Residents the register says are recorded (or cleared) enter the print queue with their
    own village and recording day, get a SUKET with no blank free, count as owed, and take
    arriving blanks oldest recording first; the others make no job."""
    older, newer = T0 - timedelta(days=30), T0 - timedelta(days=10)
    sent = datetime.now(UTC)
    await publish(
        inventory,
        [
            registered(1, "SUDAH_REKAM", recorded_at=newer),
            registered(2, "PRINT_READY_RECORD", recorded_at=older),
            registered(3, "SUDAH_REKAM"),  # no recording day: the event's time
            registered(4, "BELUM_REKAM"),
            registered(5, "CARD_PRINTED", recorded_at=older),
            registered(6, "DUPLICATE", recorded_at=older),
            registered(7, "SUDAH_REKAM", recorded_at=older, domicile="MOVED_OUT"),
            registered(8, "PRINT_READY_RECORD", recorded_at=older, domicile="DECEASED"),
        ],
    )
    await until_caught_up(inventory)
    state = await jobs(inventory)
    assert set(state) == {nik(1), nik(2), nik(3)}
    assert (state[nik(1)].recorded_at, state[nik(1)].print_ready) == (newer, False)
    assert (state[nik(2)].recorded_at, state[nik(2)].print_ready) == (older, True)
    assert sent <= state[nik(3)].recorded_at <= datetime.now(UTC)
    assert {job.village_code for job in state.values()} == {VILLAGE}
    # No blank at all: each got one SUKET, dated by the recording, as a field recording would.
    assert await sukets_of(inventory) == {n: [job.recorded_at] for n, job in state.items()}
    assert await owed(inventory) == (0, 3)

    # Two blanks arrive: the two oldest recordings take them, whatever order they came in.
    async with inventory.sessions() as session, session.begin():
        _, served = await print_queue.receive_blanks(
            session,
            inventory.outbox,
            quantity=2,
            location="office",
            reference="B-1",
            serial_from="K-0001",
            serial_to="K-0002",
            actor="t",
        )
    assert served == 2
    state = await jobs(inventory)
    assert [state[nik(i)].has_blank for i in (2, 1, 3)] == [True, True, False]
    assert await owed(inventory) == (0, 1)

    # The central result for the imported SUDAH_REKAM resident, without a recording day: the
    # job it finds keeps the resident's village and day, and the one SUKET.
    await publish(inventory, [PrintReadyV1(nik=nik(1), village_code=VILLAGE, decided_at=T0)])
    await until_caught_up(inventory)
    [job] = await jobs_of(inventory, 1)
    assert (job.village_code, job.recorded_at, job.print_ready) == (VILLAGE, newer, True)
    assert (await sukets_of(inventory))[nik(1)] == [newer]


async def test_every_path_to_a_residents_job_makes_one_job_and_one_suket(
    inventory: ServiceRuntime,
) -> None:
    """A field recording, the register's snapshots of it (again and again), the central result
    and a snapshot that is behind the printing all meet on one job; the job's village is the
    resident's, never the session's; a snapshot saying not recorded leaves a job as it is."""
    await publish(
        inventory,
        [
            RecordingCapturedV1(
                recording_id="r10", nik=nik(10), captured_at=T0, village_code=SESSION_VILLAGE
            ),
            registered(12, "BELUM_REKAM"),
        ],
    )
    await until_caught_up(inventory)
    # The register spoke first for resident 12: the recording's job takes their village.
    await publish(
        inventory,
        [
            RecordingCapturedV1(
                recording_id="r12",
                nik=nik(12),
                captured_at=T0 + timedelta(hours=2),
                village_code=SESSION_VILLAGE,
            )
        ],
    )
    await until_caught_up(inventory)
    [job] = await jobs_of(inventory, 12)
    assert job.village_code == VILLAGE
    [job] = await jobs_of(inventory, 10)
    assert job.village_code == SESSION_VILLAGE  # the register has not named it yet

    await publish(
        inventory,
        [
            registered(10, "SUDAH_REKAM", recorded_at=T0),
            registered(10, "SUDAH_REKAM", recorded_at=T0, changed=True),
            registered(10, "PRINT_READY_RECORD", recorded_at=T0, changed=True),
            PrintReadyV1(
                nik=nik(10), village_code=VILLAGE, decided_at=T0 + timedelta(days=2), recorded_at=T0
            ),
            registered(11, "SUDAH_REKAM", recorded_at=T0 + timedelta(hours=1)),
        ],
    )
    await until_caught_up(inventory)
    [job] = await jobs_of(inventory, 10)
    assert (job.village_code, job.recorded_at, job.print_ready) == (VILLAGE, T0, True)
    sukets = await sukets_of(inventory)
    assert (sukets[nik(10)], sukets[nik(11)]) == ([T0], [T0 + timedelta(hours=1)])

    # A blank arrives for the older recording and resident 10's card is printed; the register, behind, still says
    # print-ready, and resident 11 turns up as not recorded: nothing new, nothing undone.
    async with inventory.sessions() as session, session.begin():
        await print_queue.receive_blanks(
            session,
            inventory.outbox,
            quantity=1,
            location="office",
            reference="B-1",
            serial_from="K-0001",
            serial_to="K-0001",
            actor="t",
        )
    async with inventory.sessions() as session, session.begin():
        await print_queue.print_card(
            session, inventory.outbox, job_id=job.id, card_serial="K-0001", at=T0, actor="t"
        )
    await publish(
        inventory,
        [
            registered(10, "PRINT_READY_RECORD", recorded_at=T0, changed=True),
            registered(11, "BELUM_REKAM", changed=True),
        ],
    )
    await until_caught_up(inventory)
    assert [j.state for j in await jobs_of(inventory, 10)] == ["PRINTED"]
    assert [j.state for j in await jobs_of(inventory, 11)] == ["OPEN"]
    sukets = await sukets_of(inventory)
    assert (len(sukets[nik(10)]), len(sukets[nik(11)])) == (1, 1)
