"""Helpers for inventory's own tests: a fixed clock, and a driver of the app under test with
shortcuts for the usual setup. Nothing here runs in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from jemput.inventory.adapters.tables import PrintJob
from jemput.inventory.entrypoints.http.app import create_app
from jemput.inventory.entrypoints.http.deps import Clock, get_clock
from jemput.inventory.service_layer import print_queue
from jemput.inventory.settings import InventorySettings
from jemput.shared.messaging.tables import outbox
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate

# Saturday 21 November 2026, 09:00 WIB: the tests' "now".
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 21)
VILLAGE = "16.02.05.1001"


class FixedClock(Clock):
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


def nik(serial: int) -> str:
    return f"1602054505{serial:06d}"


def on_day(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock WIB on `day`, in UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=7)


class Inventory:
    """Drives the app under test: the client, plus shortcuts for the usual setup."""

    def __init__(self, client: httpx.AsyncClient, app: FastAPI, clock: FixedClock) -> None:
        self.client = client
        self.app = app
        self.clock = clock

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.state.runtime
        return runtime

    async def receive(
        self, quantity: int, first: int, *, location: str = "office", prefix: str = "KTP-"
    ) -> dict[str, Any]:
        body = {
            "location": location,
            "quantity": quantity,
            "allocation_reference": "B-470/1234/Dukcapil",
            "serial_from": f"{prefix}{first:06d}",
            "serial_to": f"{prefix}{first + quantity - 1:06d}",
        }
        response = await self.client.post("/v1/receipts", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def record(
        self, serial: int, *, print_ready: bool = True, at: datetime | None = None
    ) -> PrintJob:
        """A recording (and its print-ready result) as the consumer applies them."""
        moment = at or self.clock.now()
        async with self.runtime.sessions() as session, session.begin():
            job = await print_queue.on_recorded(
                session,
                self.runtime.outbox,
                nik=nik(serial),
                village_code=VILLAGE,
                recorded_at=moment,
                actor="/jemput/outreach",
                at=moment,
            )
            if print_ready:
                await print_queue.on_print_ready(
                    session,
                    self.runtime.outbox,
                    nik=nik(serial),
                    decided_at=moment,
                    actor="/jemput/residents",
                    at=moment,
                )
        return job

    async def flag_duplicate(self, serial: int, *, at: datetime | None = None) -> None:
        """A `duplicate_flagged` result as the consumer applies it."""
        async with self.runtime.sessions() as session, session.begin():
            await print_queue.on_duplicate(
                session,
                self.runtime.outbox,
                nik=nik(serial),
                actor="/jemput/residents",
                at=at or self.clock.now(),
            )

    async def outbox_types(self) -> list[str]:
        async with self.runtime.engine.connect() as conn:
            rows = await conn.execute(sa.select(outbox.c.event_type).order_by(outbox.c.id))
            return [row[0].rsplit(".", 2)[-2] for row in rows]


async def start_inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str, **settings: Any
) -> AsyncIterator[Inventory]:
    """The app on a migrated database; `settings` add to or replace the defaults (by default
    neither the relay nor the consumer runs)."""
    await migrate("inventory", database_url)
    defaults: dict[str, Any] = {
        "relay_enabled": False,
        "consumer_enabled": False,
        "rate_limit_per_minute": 1_000_000,
    }
    config = InventorySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        **(defaults | settings),
    )
    clock = FixedClock(NOW)
    async with app_client(create_app, config) as (client, app):
        app.dependency_overrides[get_clock] = lambda: clock
        yield Inventory(client, app, clock)
