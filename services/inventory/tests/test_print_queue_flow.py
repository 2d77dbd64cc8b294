"""The print queue from real events on Kafka: recordings reserve blanks; when blanks run out
residents get SUKETs; arriving blanks serve waiting jobs in order of recording; duplicates
release theirs; printing the same card twice at once gives one success."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from jemput.inventory.adapters.tables import PrintJob, Suket
from jemput.inventory.bootstrap import bootstrap
from jemput.inventory.domain.ledger import Entry, EntryKind, Stock
from jemput.inventory.service_layer import ledger, print_queue
from jemput.inventory.settings import InventorySettings
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import DuplicateFlaggedV1, PrintReadyV1
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


async def publish(
    runtime: ServiceRuntime, events: list[RecordingCapturedV1 | PrintReadyV1 | DuplicateFlaggedV1]
) -> None:
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
