"""One trace id follows a change across services into inventory: a request's `traceparent` goes
with the stock events it publishes, and the events the consumer publishes while applying
recordings and print-ready results (SUKETs, reservations) continue the trace of the event
that caused them, each resident's its own even when a run of events is applied together."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from jemput.inventory.entrypoints.http.app import create_app
from jemput.inventory.settings import InventorySettings
from jemput.inventory.testing import VILLAGE, nik
from jemput.shared import tracing
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import PrintReadyV1
from jemput.shared.messaging.kafka import make_producer
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate
from jemput.shared.testing.kafka import read_topic

pytestmark = pytest.mark.kafka

OFFICE_TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACES = {
    nik(1): "4bf92f3577b34da6a3ce929d0e0e4736",
    nik(2): "5ce03a4688c45eb7b4df03a1f1f15847",
    nik(3): "6df14b5799d56fc8c5e014b2a2a26958",
    nik(4): "7e025c68aae670d9d6f125c3b3b3706a",
}


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-b7ad6b7169203331-01"


@pytest.fixture
async def running(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, InventorySettings]]:
    await migrate("inventory", database_url)
    settings = InventorySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
    )
    async with app_client(create_app, settings) as (client, _):
        yield client, settings


async def publish(settings: InventorySettings, topic: str, events: list[EventPayload]) -> None:
    """The events, each with the trace of its resident, sent together (one run if they can)."""
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="test-trace")
    await producer.start()
    try:
        sent = []
        for payload in events:
            envelope = CloudEvent(
                id=CloudEvent.new_id(),
                type=payload.event_type,
                source=f"/jemput/{payload.producer}",
                time=CloudEvent.new_time(),
                data=payload.model_dump_json().encode(),
                subject=payload.subject(),
                extensions={tracing.TRACEPARENT: traceparent(TRACES[payload.partition_key()])},
            )
            sent.append(
                await producer.send(
                    settings.topic(topic),
                    envelope.data,
                    key=payload.partition_key().encode(),
                    headers=envelope.headers(),
                )
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def inventory_events(
    settings: InventorySettings, wanted: int
) -> list[tuple[str, dict[str, object], str | None]]:
    """(event type, data, trace id) of what inventory published, once `wanted` are there."""
    found: list[tuple[str, dict[str, object], str | None]] = []
    for _ in range(60):
        records = await read_topic(
            settings.kafka_bootstrap_servers, settings.topic("inventory"), wait_seconds=2
        )
        found = []
        for record in records:
            envelope = CloudEvent.from_kafka(record.headers, record.value)
            span = envelope.extensions.get(tracing.TRACEPARENT)
            found.append(
                (
                    envelope.type.rsplit(".", 2)[-2],
                    json.loads(envelope.data),
                    tracing.trace_id_of(span) if span else None,
                )
            )
        if len(found) >= wanted:
            break
        await asyncio.sleep(0.5)
    return found


async def test_events_published_by_the_consumer_continue_the_trace_of_their_cause(
    running: tuple[httpx.AsyncClient, InventorySettings],
) -> None:
    client, settings = running
    received = await client.post(
        "/v1/receipts",
        headers={tracing.TRACEPARENT: traceparent(OFFICE_TRACE)},
        json={
            "location": "office",
            "quantity": 1,
            "allocation_reference": "B-470/1234/Dukcapil",
            "serial_from": "KTP-000001",
            "serial_to": "KTP-000001",
        },
    )
    assert received.status_code == 201, received.text
    at = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)

    # The first recording takes the one blank; the next two (one run if the consumer reads
    # them together) get SUKETs, and a print-ready result for a resident without a job too.
    await publish(
        settings, "outreach", [RecordingCapturedV1(recording_id="r1", nik=nik(1), captured_at=at)]
    )
    assert [e for e in await inventory_events(settings, 2) if e[0] == "stock_changed"]
    await publish(
        settings,
        "outreach",
        [
            RecordingCapturedV1(recording_id=f"r{n}", nik=nik(n), captured_at=at, village_code=v)
            for n, v in ((2, VILLAGE), (3, None))
        ],
    )
    await publish(
        settings,
        "residents",
        [PrintReadyV1(nik=nik(4), village_code=VILLAGE, decided_at=at, recorded_at=at)],
    )

    events = await inventory_events(settings, 5)
    stock = [(data["entry_kind"], trace) for kind, data, trace in events if kind == "stock_changed"]
    assert stock == [("RECEIVED", OFFICE_TRACE), ("RESERVED", TRACES[nik(1)])]
    sukets = {data["nik"]: trace for kind, data, trace in events if kind == "suket_issued"}
    assert sukets == {nik(n): TRACES[nik(n)] for n in (2, 3, 4)}
