"""Events from outreach and inventory move the e-KTP status, whatever order they arrive in:
through the handlers against a real database (SQLite and PostgreSQL), and once through Kafka."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from structlog.testing import capture_logs

from jemput.residents.adapters.tables import Resident, ResidentCreate, StatusChange
from jemput.residents.domain.model import EktpStatus
from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.service_layer import registration
from jemput.residents.service_layer.handlers import (
    CentralOutcome,
    CentralResult,
    StatusEventHandlers,
    apply_central_results,
)
from jemput.residents.settings import ResidentsSettings
from jemput.shared.db import create_engine
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.inventory import (
    CardIssuedV1,
    CardPrintedV1,
    SuketIssuedV1,
    SuketRevokedV1,
)
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import (
    ResidentChangedV1,
    ResidentRegisteredV1,
    ResidentSnapshot,
)
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.kafka import make_producer
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.tables import outbox
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate

S = EktpStatus
TODAY = date(2026, 11, 28)
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def nik_of(serial: int) -> str:
    return make_nik("16.02.05", date(1990, 5, 17), Sex.FEMALE, serial)


def inbound(payload: EventPayload, offset: int = 0) -> InboundEvent[Any]:
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=payload.event_type,
        source=f"/jemput/{payload.producer}",
        time=CloudEvent.new_time(),
        data=payload.model_dump_json().encode(),
        subject=payload.subject(),
    )
    return InboundEvent(envelope, payload, f"jemput.{payload.producer}.v1", 0, offset)


def recorded(nik: str, moment: datetime) -> RecordingCapturedV1:
    return RecordingCapturedV1(recording_id=f"rec-{nik}-{moment:%H}", nik=nik, captured_at=moment)


def printed(nik: str, moment: datetime) -> CardPrintedV1:
    return CardPrintedV1(nik=nik, job_id=f"job-{nik}", printed_at=moment)


def issued(nik: str, moment: datetime) -> CardIssuedV1:
    return CardIssuedV1(nik=nik, job_id=f"job-{nik}", issued_at=moment)


def suket(nik: str, moment: datetime) -> SuketIssuedV1:
    return SuketIssuedV1(
        nik=nik, suket_number=f"S-{nik}", issued_at=moment, valid_until=date(2027, 5, 1)
    )


@dataclass
class Register:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    handlers: EventHandlers

    async def add(self, serial: int) -> str:
        nik = nik_of(serial)
        data = ResidentCreate.model_validate(
            {
                "nik": nik,
                "kk": "1602050101200001",
                "full_name": f"WARGA {serial}",
                "birth_date": date(1990, 5, 17),
                "sex": "P",
                "marital_status": "KAWIN",
                "village_code": "16.02.05.1001",
            }
        )
        async with self.sessions() as session, session.begin():
            await registration.create(session, self.outbox, data, regency_code="16.02", today=TODAY)
        return nik

    async def deliver(self, *payloads: EventPayload) -> list[InboundEvent[Any]]:
        """One consumer batch: all the events in one transaction."""
        events = [inbound(p, offset) for offset, p in enumerate(payloads)]
        async with self.sessions() as session, session.begin():
            await self.handlers.apply(session, events)
        return events

    async def central(self, nik: str, result: EktpStatus, moment: datetime) -> CentralOutcome:
        async with self.sessions() as session, session.begin():
            outcomes = await apply_central_results(
                session, self.outbox, [CentralResult(nik, result, moment, "ref-1")], today=TODAY
            )
        return outcomes[0].outcome

    async def resident(self, nik: str) -> Resident:
        async with self.sessions() as session:
            found = await session.get(Resident, nik)
            assert found is not None
            return found

    async def history(self, nik: str) -> list[StatusChange]:
        async with self.sessions() as session:
            query = (
                select(StatusChange)
                .where(col(StatusChange.nik) == nik)
                .order_by(col(StatusChange.id))
            )
            return list((await session.exec(query)).all())

    async def published(self, nik: str) -> list[str]:
        query = (
            sa.select(outbox.c.event_type)
            .where(outbox.c.partition_key == nik)
            .order_by(outbox.c.id)
        )
        async with self.engine.connect() as conn:
            return [t.rsplit(".", 2)[-2] for t in (await conn.execute(query)).scalars()]

    async def payloads(self, nik: str, kind: str) -> list[dict[str, Any]]:
        """The payloads of the resident's events of one kind (e.g. `suket_status_changed`)."""
        query = (
            sa.select(outbox.c.payload)
            .where(outbox.c.partition_key == nik, outbox.c.event_type.like(f"%.{kind}.v1"))
            .order_by(outbox.c.id)
        )
        async with self.engine.connect() as conn:
            return [json.loads(p) for p in (await conn.execute(query)).scalars()]


@pytest.fixture
async def register(database_url: str) -> AsyncIterator[Register]:
    await migrate("residents", database_url)
    engine = create_engine(database_url)
    box = Outbox(source="/jemput/residents", topic_for=lambda s: f"jemput.{s}.v1")
    handlers = StatusEventHandlers(box, today=lambda: TODAY).register(EventHandlers())
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    try:
        yield Register(engine, sessions, box, handlers)
    finally:
        await engine.dispose()


async def test_printed_then_recorded_then_print_ready_stays_printed(register: Register) -> None:
    nik = await register.add(1)
    await register.deliver(printed(nik, at(3)))
    assert (await register.resident(nik)).ektp_status == S.CARD_PRINTED
    await register.deliver(recorded(nik, at(1)))
    # The late print-ready result cannot take a printed card back; it is reported, not applied.
    assert await register.central(nik, S.PRINT_READY_RECORD, at(2)) == CentralOutcome.REFUSED
    resident = await register.resident(nik)
    assert resident.ektp_status == S.CARD_PRINTED
    assert (resident.recorded_at, resident.printed_at) == (at(1), at(3))
    steps = [(c.from_status, c.to_status) for c in await register.history(nik)]
    assert steps == [(None, "BELUM_REKAM"), ("BELUM_REKAM", "CARD_PRINTED")]


async def test_issued_before_printed_ends_issued_and_clears_the_suket(register: Register) -> None:
    nik = await register.add(2)
    await register.deliver(recorded(nik, at(1)))
    await register.deliver(suket(nik, at(2)))
    assert (await register.resident(nik)).suket_outstanding
    await register.deliver(issued(nik, at(5)))
    await register.deliver(printed(nik, at(4)))
    await register.deliver(suket(nik, at(6)))  # a late SUKET after the card changes nothing
    resident = await register.resident(nik)
    assert (resident.ektp_status, resident.suket_outstanding) == (S.CARD_ISSUED, False)
    assert resident.status_changed_at == at(5)


async def test_a_suket_changes_the_suket_flag_not_the_status(register: Register) -> None:
    """A SUKET issued, then the card handed over: the flag's changes are `suket_status_changed`
    events; `ektp_status_changed` is published only when the status changes."""
    nik = await register.add(7)
    await register.deliver(recorded(nik, at(1)))
    await register.deliver(suket(nik, at(2)))
    await register.deliver(printed(nik, at(4)), issued(nik, at(5)))
    changes = await register.payloads(nik, "ektp_status_changed")
    assert [(c["from_status"], c["to_status"]) for c in changes] == [
        ("BELUM_REKAM", "SUDAH_REKAM"),
        ("SUDAH_REKAM", "CARD_PRINTED"),
        ("CARD_PRINTED", "CARD_ISSUED"),
    ]
    flags = await register.payloads(nik, "suket_status_changed")
    assert [(f["suket_outstanding"], f["ektp_status"], f["changed_at"]) for f in flags] == [
        (True, "SUDAH_REKAM", at(2).isoformat().replace("+00:00", "Z")),
        (False, "CARD_ISSUED", at(5).isoformat().replace("+00:00", "Z")),
    ]
    assert {f["village_code"] for f in flags} == {"16.02.05.1001"}


async def test_a_revoked_suket_clears_the_flag(register: Register) -> None:
    """A resident flagged duplicate: inventory revokes the SUKET, and the register's flag
    follows (one `suket_status_changed`, no status event); a revocation again changes nothing."""
    nik = await register.add(8)
    await register.deliver(recorded(nik, at(1)), suket(nik, at(1)))
    assert await register.central(nik, S.DUPLICATE, at(2)) == CentralOutcome.APPLIED
    revoked = SuketRevokedV1(nik=nik, suket_number=f"S-{nik}", revoked_at=at(3))
    await register.deliver(revoked)
    await register.deliver(revoked)
    resident = await register.resident(nik)
    assert (resident.ektp_status, resident.suket_outstanding) == (S.DUPLICATE, False)
    flags = await register.payloads(nik, "suket_status_changed")
    assert [(f["suket_outstanding"], f["ektp_status"]) for f in flags] == [
        (True, "SUDAH_REKAM"),
        (False, "DUPLICATE"),
    ]
    changes = await register.payloads(nik, "ektp_status_changed")
    assert all(c["from_status"] != c["to_status"] for c in changes)
    # Re-recorded and, with no blank, given a new SUKET: the flag is set again.
    await register.deliver(recorded(nik, at(6)), suket(nik, at(6)))
    resident = await register.resident(nik)
    assert (resident.ektp_status, resident.suket_outstanding) == (S.SUDAH_REKAM, True)


async def test_duplicate_then_re_recorded_is_recorded_again(register: Register) -> None:
    nik = await register.add(3)
    [first] = await register.deliver(recorded(nik, at(1)))
    assert await register.central(nik, S.DUPLICATE, at(2)) == CentralOutcome.APPLIED
    assert (await register.resident(nik)).ektp_status == S.DUPLICATE
    [again] = await register.deliver(recorded(nik, at(3)))
    assert (await register.resident(nik)).ektp_status == S.SUDAH_REKAM
    history = await register.history(nik)
    assert [(c.to_status, c.cause, c.cause_id, c.actor) for c in history[1:]] == [
        ("SUDAH_REKAM", "event", first.id, "/jemput/outreach"),
        ("DUPLICATE", "central_result", "ref-1", "national-dedup"),
        ("SUDAH_REKAM", "event", again.id, "/jemput/outreach"),
    ]
    assert [c.changed_at for c in history[1:]] == [at(1), at(2), at(3)]
    assert "duplicate_flagged" in await register.published(nik)


async def test_a_late_duplicate_result_after_re_recording_changes_nothing(
    register: Register,
) -> None:
    nik = await register.add(4)
    await register.deliver(recorded(nik, at(3)))
    assert await register.central(nik, S.DUPLICATE, at(2)) == CentralOutcome.UNCHANGED
    assert (await register.resident(nik)).ektp_status == S.SUDAH_REKAM


async def test_every_order_within_one_batch_ends_issued(register: Register) -> None:
    facts = [(recorded, at(1)), (printed, at(3)), (issued, at(4))]
    orders = list(itertools.permutations(facts))
    niks = [await register.add(10 + i) for i in range(len(orders))]
    batch = [
        make(nik, moment) for nik, order in zip(niks, orders, strict=True) for make, moment in order
    ]
    await register.deliver(*batch)
    for nik in niks:
        resident = await register.resident(nik)
        assert resident.ektp_status == S.CARD_ISSUED
        assert (resident.recorded_at, resident.printed_at, resident.issued_at) == (
            at(1),
            at(3),
            at(4),
        )


async def test_the_same_fact_twice_writes_one_transition(register: Register) -> None:
    nik = await register.add(5)
    await register.deliver(recorded(nik, at(1)))
    await register.deliver(recorded(nik, at(1)))
    assert len(await register.history(nik)) == 2
    assert (await register.published(nik)).count("ektp_status_changed") == 1


async def test_a_run_of_recordings_naming_residents_twice_moves_each_once(
    register: Register,
) -> None:
    """An evening's upload: one run of the same event type, applied together, each resident
    in it twice (a batch sent again) — one transition and one status event each."""
    niks = [await register.add(400 + i) for i in range(40)]
    await register.deliver(*(recorded(nik, at(1)) for nik in niks + niks))
    for nik in niks:
        assert (await register.resident(nik)).ektp_status == S.SUDAH_REKAM
        assert [(c.from_status, c.to_status) for c in await register.history(nik)][1:] == [
            ("BELUM_REKAM", "SUDAH_REKAM")
        ]
        assert (await register.published(nik)).count("ektp_status_changed") == 1


async def test_an_unknown_nik_is_logged_and_skipped_not_failing_the_batch(
    register: Register,
) -> None:
    known = await register.add(6)
    stranger = nik_of(99)
    with capture_logs() as logs:
        await register.deliver(
            recorded(stranger, at(1)), printed(stranger, at(2)), recorded(known, at(1))
        )
    assert (await register.resident(known)).ektp_status == S.SUDAH_REKAM
    skipped = [entry for entry in logs if entry["event"] == "residents.event_for_unknown_nik"]
    assert [entry["event_type"] for entry in skipped] == [
        RecordingCapturedV1.event_type,
        CardPrintedV1.event_type,
    ]
    async with register.sessions() as session:
        assert await session.get(Resident, stranger) is None


# ---------------------------------------------------------------------------------------------
# Through Kafka: the running service consumes the outreach and inventory topics.


@pytest.fixture
async def service(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ResidentsSettings]]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
        consumer_batch_size=50,
    )
    async with app_client(create_app, settings) as (client, _):
        yield client, settings


async def publish(settings: ResidentsSettings, *payloads: EventPayload) -> None:
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="test-publisher")
    await producer.start()
    try:
        for payload in payloads:
            event = inbound(payload).envelope
            await producer.send_and_wait(
                settings.topic(payload.producer),
                event.data,
                key=payload.partition_key().encode(),
                headers=event.headers(),
            )
    finally:
        await producer.stop()


async def status_of(client: httpx.AsyncClient, nik: str, wanted: str, seconds: float = 30) -> str:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        body = (await client.get(f"/v1/residents/{nik}/ektp-status")).json()
        if body["ektp_status"] == wanted or asyncio.get_running_loop().time() > deadline:
            return str(body["ektp_status"])
        await asyncio.sleep(0.2)


@pytest.mark.kafka
async def test_events_from_two_topics_in_the_wrong_order_end_right(
    service: tuple[httpx.AsyncClient, ResidentsSettings],
) -> None:
    client, settings = service
    nik = make_nik("16.02.05", date(1990, 5, 17), Sex.FEMALE, 21)
    body = {
        "nik": nik,
        "kk": "1602050101200001",
        "full_name": "SITI AMINAH",
        "birth_date": "1990-05-17",
        "sex": "P",
        "marital_status": "KAWIN",
        "village_code": "16.02.05.1001",
    }
    assert (await client.post("/v1/residents", json=body)).status_code == 201
    stranger = make_nik("16.02.05", date(1991, 1, 1), Sex.MALE, 5)
    # Inventory's print arrives before outreach's recording; an unknown NIK comes first.
    await publish(settings, printed(stranger, at(1)), printed(nik, at(3)))
    assert await status_of(client, nik, "CARD_PRINTED") == "CARD_PRINTED"
    await publish(settings, recorded(nik, at(1)), suket(nik, at(2)))
    deadline = asyncio.get_running_loop().time() + 30
    while not (await client.get(f"/v1/residents/{nik}/ektp-status")).json()["suket_outstanding"]:
        assert asyncio.get_running_loop().time() < deadline, "the SUKET event was not applied"
        await asyncio.sleep(0.2)
    await publish(settings, issued(nik, at(5)))
    assert await status_of(client, nik, "CARD_ISSUED") == "CARD_ISSUED"
    final = (await client.get(f"/v1/residents/{nik}/ektp-status")).json()
    assert final["suket_outstanding"] is False
    history = (await client.get(f"/v1/residents/{nik}/history")).json()
    assert [h["to_status"] for h in history] == ["BELUM_REKAM", "CARD_PRINTED", "CARD_ISSUED"]
    assert {h["actor"] for h in history[1:]} == {"/jemput/inventory"}


async def published_snapshots(register: Register, nik: str) -> list[ResidentSnapshot]:
    query = (
        sa.select(outbox.c.event_type, outbox.c.payload)
        .where(outbox.c.partition_key == nik, outbox.c.event_type.like("%.resident_%"))
        .order_by(outbox.c.id)
    )
    async with register.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    kinds = {e.event_type: e for e in (ResidentRegisteredV1, ResidentChangedV1)}
    return [kinds[kind].model_validate_json(payload) for kind, payload in rows]


async def test_snapshots_carry_the_residents_own_recording_day(register: Register) -> None:
    """`recorded_at` on the snapshot events is the resident's recording milestone, whichever
    way the recording came: registered as recorded over the API, a field recording, or a print
    whose recording event is late (the recording came no later than the print)."""
    nik = await register.add(1)
    data = ResidentCreate.model_validate(
        {
            "nik": nik_of(2),
            "kk": "1602050101200001",
            "full_name": "WARGA 2",
            "birth_date": date(1990, 5, 17),
            "sex": "P",
            "marital_status": "KAWIN",
            "village_code": "16.02.05.1001",
            "ektp_status": "SUDAH_REKAM",
        }
    )
    async with register.sessions() as session, session.begin():
        created, _ = await registration.create(
            session, register.outbox, data, regency_code="16.02", today=TODAY
        )
    [registered] = await published_snapshots(register, nik_of(2))
    assert registered.recorded_at == created.recorded_at is not None
    [not_recorded] = await published_snapshots(register, nik)
    assert not_recorded.recorded_at is None

    await register.deliver(recorded(nik, at(1)))
    field_recorded = registration.snapshot(await register.resident(nik), ResidentChangedV1)
    assert field_recorded.recorded_at == at(1)

    late = await register.add(3)
    await register.deliver(printed(late, at(4)))
    printed_first = registration.snapshot(await register.resident(late), ResidentChangedV1)
    assert (printed_first.ektp_status, printed_first.recorded_at) == ("CARD_PRINTED", at(4))
    await register.deliver(recorded(late, at(2)))
    assert registration.snapshot(await register.resident(late), ResidentChangedV1).recorded_at == (
        at(2)
    )
