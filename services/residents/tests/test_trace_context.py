"""One trace id follows a change across services: an HTTP request's `traceparent` goes with
the events it publishes (Kafka header `ce_traceparent`), and the events a consumer publishes
while applying an event continue that event's trace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import pytest

from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared import tracing
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.messaging.kafka import make_producer
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate
from jemput.shared.testing.kafka import read_topic

pytestmark = pytest.mark.kafka

NIK = make_nik("16.02.05", date(1991, 4, 5), Sex.MALE, 31)
FIELD_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
OFFICE_TRACE = "0af7651916cd43dd8448eb211c80319c"


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-b7ad6b7169203331-01"


def traces_of(records: list[object], event_type: str) -> list[str]:
    found = []
    for record in records:
        envelope = CloudEvent.from_kafka(record.headers, record.value)  # type: ignore[attr-defined]
        if envelope.type == event_type:
            found.append(tracing.trace_id_of(envelope.extensions[tracing.TRACEPARENT]))
    return found


@pytest.fixture
async def running(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ResidentsSettings]]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
    )
    async with app_client(create_app, settings) as (client, _):
        yield client, settings


async def test_a_trace_goes_from_the_request_into_kafka_and_through_a_consumer(
    running: tuple[httpx.AsyncClient, ResidentsSettings],
) -> None:
    client, settings = running
    created = await client.post(
        "/v1/residents",
        headers={tracing.TRACEPARENT: traceparent(OFFICE_TRACE)},
        json={
            "nik": NIK,
            "kk": "1602050504910001",
            "full_name": "Budi Jejak",
            "birth_date": "1991-04-05",
            "sex": "L",
            "marital_status": "KAWIN",
            "village_code": "16.02.05.1001",
        },
    )
    assert created.status_code == 201, created.text
    answered = created.headers[tracing.TRACEPARENT]
    assert tracing.trace_id_of(answered) == OFFICE_TRACE and answered != traceparent(OFFICE_TRACE)

    # A field recording published by outreach with its own trace.
    recording = RecordingCapturedV1(
        recording_id="rec-trace-1", nik=NIK, captured_at=datetime.now(UTC)
    )
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=recording.event_type,
        source="/jemput/outreach",
        time=CloudEvent.new_time(),
        data=recording.model_dump_json().encode(),
        subject=recording.subject(),
        extensions={tracing.TRACEPARENT: traceparent(FIELD_TRACE)},
    )
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="test-outreach")
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic("outreach"),
            envelope.data,
            key=NIK.encode(),
            headers=envelope.headers(),
        )
    finally:
        await producer.stop()

    topic = settings.topic("residents")
    registered: list[str] = []
    changed: list[str] = []
    for _ in range(60):
        records = await read_topic(settings.kafka_bootstrap_servers, topic, wait_seconds=2)
        registered = traces_of(records, "jemput.residents.resident_registered.v1")
        changed = traces_of(records, "jemput.residents.ektp_status_changed.v1")
        if registered and changed:
            break
        await asyncio.sleep(0.5)
    assert registered == [OFFICE_TRACE]
    assert changed == [FIELD_TRACE]


def test_invalid_traceparents_start_a_new_trace() -> None:
    for bad in (None, "", "garbage", "00-" + "0" * 32 + "-b7ad6b7169203331-01"):
        assert tracing.parse(bad) is None
        assert tracing.parse(tracing.child_of(bad)) is not None
    with tracing.continued(traceparent(FIELD_TRACE)) as span:
        assert tracing.current() == span and tracing.trace_id_of(span) == FIELD_TRACE
    assert tracing.current() is None
