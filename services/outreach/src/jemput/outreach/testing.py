"""Helpers for outreach's own tests: a fixed clock, residents for the read model, and a
driver of the app under test. Nothing here runs in production."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from jemput.outreach.entrypoints.http.app import create_app
from jemput.outreach.entrypoints.http.deps import Clock, get_clock
from jemput.outreach.service_layer.register_events import RegisterEventHandlers
from jemput.outreach.settings import OutreachSettings
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.tables import outbox
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate
from jemput.shared.tracing import TRACEPARENT

# Tuesday 1 December 2026, 09:00 WIB: the tests' "now".
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
TOMORROW = date(2026, 12, 2)
VILLAGE = "16.02.05.1001"  # in Kayu Agung
OTHER_VILLAGE = "16.02.13.2005"  # in Lempuing


class FixedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def nik(serial: int, born: date = date(1990, 5, 17), district: str = "16.02.05") -> str:
    return make_nik(district, born, Sex.FEMALE, serial)


def registered(serial: int, **fields: Any) -> ResidentRegisteredV1:
    born = fields.pop("birth_date", date(1990, 5, 17))
    values: dict[str, Any] = {
        "nik": nik(serial, born),
        "village_code": VILLAGE,
        "birth_date": born,
        "sex": "P",
        "marital_status": "BELUM_KAWIN",
    }
    return ResidentRegisteredV1(**(values | fields))


def inbound(payload: EventPayload, traceparent: str | None = None) -> InboundEvent[Any]:
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=payload.event_type,
        source=f"/jemput/{payload.producer}",
        time=CloudEvent.new_time(),
        data=payload.model_dump_json().encode(),
        subject=payload.subject(),
        extensions={TRACEPARENT: traceparent} if traceparent else {},
    )
    return InboundEvent(envelope, payload, f"jemput.{payload.producer}.v1", 0, 0)


class Outreach:
    """Drives the app under test: the client, plus shortcuts for the usual setup."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, clock: FixedClock) -> None:
        self.client = client
        self.app = app
        self.clock = clock

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def apply(
        self, payloads: Iterable[EventPayload], *, traces: Mapping[str, str] | None = None
    ) -> None:
        """Feed the register's events to the read model as the consumer would, each in the
        trace (`traceparent`) `traces` gives its NIK, if any."""
        traces = traces or {}
        events = [inbound(p, traces.get(p.partition_key())) for p in payloads]
        async with self.runtime.sessions() as session, session.begin():
            handlers = RegisterEventHandlers(self.runtime.outbox).register(EventHandlers())
            await handlers.apply(session, events)

    async def outbox_types(self) -> list[str]:
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(select(outbox.c.event_type).order_by(outbox.c.id))
            return [row[0].rsplit(".", 2)[-2] for row in rows]

    async def outbox_payloads(self, kind: str) -> list[dict[str, Any]]:
        """The payloads of the outbox's events of one kind (e.g. `home_visit_closed`), in
        order, with their partition keys under `_key`."""
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.event_type, outbox.c.partition_key, outbox.c.payload).order_by(
                    outbox.c.id
                )
            )
            return [
                json.loads(payload) | {"_key": key}
                for event_type, key, payload in rows
                if event_type.rsplit(".", 2)[-2] == kind
            ]

    async def outbox_count(self) -> int:
        async with self.runtime.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())

    async def team(self, name: str = "Tim 1", kits: int = 2) -> dict[str, Any]:
        created = await self.client.post(
            "/v1/teams", json={"name": name, "members": ["Andi", "Sari"], "base_code": "16.02.05"}
        )
        assert created.status_code == 201, created.text
        team: dict[str, Any] = created.json()
        for index in range(kits):
            serial = f"{name.replace(' ', '').upper()}-K{index + 1}"
            kit = await self.client.post("/v1/kits", json={"serial": serial, "team_id": team["id"]})
            assert kit.status_code == 201, kit.text
        read = await self.client.get(f"/v1/teams/{team['id']}")
        result: dict[str, Any] = read.json()
        return result

    async def schedule(
        self, team: dict[str, Any], day: date = TODAY, village: str = VILLAGE, **extra: Any
    ) -> httpx.Response:
        body = {"kind": "village_drive", "village_code": village, "day": day.isoformat()}
        return await self.client.post("/v1/sessions", json=body | {"team_id": team["id"]} | extra)

    async def session_in_progress(self, team: dict[str, Any]) -> dict[str, Any]:
        scheduled = await self.schedule(team)
        assert scheduled.status_code == 201, scheduled.text
        started = await self.client.post(f"/v1/sessions/{scheduled.json()['id']}:start")
        assert started.status_code == 200, started.text
        result: dict[str, Any] = started.json()
        return result


def recording(
    recording_id: str, resident: str, kit: str, *, at: datetime | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "nik": resident,
        "captured_at": (at or NOW - timedelta(minutes=30)).isoformat(),
        "kit_serial": kit,
        "operator": "operator-1",
        "captured": ["photo", "fingerprints", "iris", "signature"],
    } | extra


async def start_outreach(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str, **settings: Any
) -> AsyncIterator[Outreach]:
    await migrate("outreach", database_url)
    options: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_namespace": kafka_namespace,
        # Keep events in the outbox so tests can count them; the read model is seeded directly.
        "relay_enabled": False,
        "consumer_enabled": False,
    }
    clock = FixedClock(NOW)
    async with app_client(create_app, OutreachSettings(**(options | settings))) as (client, app):
        app.dependency_overrides[get_clock] = lambda: clock
        yield Outreach(client, app, clock)
