"""Inventory's forecast and analytics' stock give the same daily demand for blanks on the same
events: inventory in-process on its own database, driven as the office drives it (receipts,
prints, a spoiled print, a hand-over over HTTP; recordings, print-ready results and a duplicate
as its consumer applies them, each on its day), its relay publishing to the local Kafka, and
analytics in-process consuming those events from Kafka into its own database.

Four days: blanks run out (a SUKET), a print and a spoiled one, more blanks serve the waiting
jobs (the SUKET holder among them), the SUKET holder's card and another are printed, and a
last resident's SUKET is revoked when the resident is flagged a duplicate. A resident who took
a SUKET and later a blank is demand once: on the SUKET's day, not again when the card is
printed, and never for the reservation. The hand calculation is in the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.analytics.entrypoints.http.app import create_app as create_analytics_app
from jemput.analytics.service_layer.projections import handlers as analytics_handlers
from jemput.analytics.settings import AnalyticsSettings
from jemput.analytics.testing import publish
from jemput.inventory.testing import VILLAGE, Inventory, nik, on_day, start_inventory
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.messaging.kafka import ensure_topics
from jemput.shared.messaging.tables import inbox, outbox
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate

pytestmark = [pytest.mark.kafka]

FIRST = date(2026, 11, 16)  # Monday: the office's first movement of blanks
TODAY = FIRST + timedelta(days=4)  # the forecast is asked on Friday, over Monday to Thursday
RESIDENTS = range(1, 6)


@dataclass
class Office:
    inventory: Inventory
    analytics: httpx.AsyncClient
    analytics_engine: AsyncEngine

    async def print_card(self, job_id: str, serial: str) -> None:
        response = await self.inventory.client.post(
            f"/v1/print-jobs/{job_id}:print", json={"card_serial": serial}
        )
        assert response.status_code == 200, response.text

    async def all_applied(self, seconds: float = 60) -> None:
        """Every event inventory made that analytics reads was published and applied."""
        reads = analytics_handlers()
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            async with self.inventory.runtime.engine.connect() as conn:
                rows = await conn.execute(sa.select(outbox.c.event_id, outbox.c.event_type))
                made = {event_id for event_id, kind in rows.all() if reads.handles(kind)}
            async with self.analytics_engine.connect() as conn:
                applied = set((await conn.execute(sa.select(inbox.c.event_id))).scalars())
            if made <= applied:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{len(made - applied)} left"
            await asyncio.sleep(0.2)


@pytest.fixture
async def office(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Office]:
    topics = [f"{kafka_namespace}jemput.{p}.v1" for p in ("residents", "outreach", "inventory")]
    await ensure_topics(kafka_bootstrap, topics, partitions=3)
    analytics_db = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    await migrate("analytics", analytics_db)
    settings = AnalyticsSettings(
        database_url=analytics_db,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
    )
    async for inventory in start_inventory(
        f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}",
        kafka_bootstrap,
        kafka_namespace,
        relay_enabled=True,
    ):
        async with app_client(create_analytics_app, settings) as (client, app):
            yield Office(inventory, client, app.state.runtime.engine)


async def test_inventory_and_analytics_give_the_same_daily_demand(office: Office) -> None:
    inventory = office.inventory
    # Analytics counts the SUKETs outstanding of the register's residents.
    register = [
        ResidentRegisteredV1(
            nik=nik(n),
            village_code=VILLAGE,
            birth_date=date(1990, 1, n),
            sex="L",
            marital_status="KAWIN",
        )
        for n in RESIDENTS
    ]
    await publish(
        inventory.runtime.settings.kafka_bootstrap_servers,
        inventory.runtime.settings.kafka_namespace,
        [(payload, on_day(FIRST, 7)) for payload in register],
    )

    # Monday: two blanks, three residents recorded and cleared: the third gets a SUKET.
    inventory.clock.moment = on_day(FIRST)
    await inventory.receive(2, 1)
    jobs = {
        n: await inventory.record(n, at=on_day(FIRST) + timedelta(minutes=n)) for n in (1, 2, 3)
    }
    # Tuesday: the first card is printed; the second print spoils its blank (the job waits).
    inventory.clock.moment = on_day(FIRST + timedelta(days=1), 10)
    await office.print_card(jobs[1].id, "KTP-000001")
    spoiled = await inventory.client.post(
        f"/v1/print-jobs/{jobs[2].id}:spoil", json={"blank_serial": "KTP-000002", "note": "x"}
    )
    assert spoiled.status_code == 200, spoiled.text
    # Wednesday: three blanks serve the two waiting jobs (the SUKET holder's too) and a new one.
    inventory.clock.moment = on_day(FIRST + timedelta(days=2), 10)
    assert (await inventory.receive(3, 3))["waiting_jobs_served"] == 2
    jobs[4] = await inventory.record(4, at=inventory.clock.moment)
    # Thursday: the SUKET holder's card and the spoiled job's card are printed, the first one
    # handed over; a fifth resident finds no blank (a SUKET) and is then flagged a duplicate.
    thursday = FIRST + timedelta(days=3)
    inventory.clock.moment = on_day(thursday, 10)
    await office.print_card(jobs[3].id, "KTP-000003")
    await office.print_card(jobs[2].id, "KTP-000004")
    issued = await inventory.client.post(f"/v1/print-jobs/{jobs[1].id}:issue")
    assert issued.status_code == 200, issued.text
    jobs[5] = await inventory.record(5, at=inventory.clock.moment)
    await inventory.flag_duplicate(5, at=on_day(thursday, 11))

    # By hand: Monday 1 SUKET; Tuesday 1 printed + 1 spoiled; Wednesday nothing (reservations
    # are not demand); Thursday 2 printed, less the SUKET holder's card (counted on Monday),
    # plus 1 SUKET (revoked later: the resident still came for a card). 5 over 4 days.
    expected = 5 / 4
    inventory.clock.moment = on_day(TODAY)
    forecast = (await inventory.client.get("/v1/forecast", params={"location": "office"})).json()
    assert (forecast["history_from"], forecast["history_to"]) == (
        FIRST.isoformat(),
        thursday.isoformat(),
    )
    assert forecast["daily_demand"] == round(expected, 3)
    sukets = (await inventory.client.get("/v1/sukets")).json()["items"]
    assert [s["nik"] for s in sukets] == [nik(3)]  # the duplicate's SUKET was revoked
    assert forecast["sukets_outstanding"] == 1

    await office.all_applied()
    stock = await office.analytics.get("/v1/stock", params={"as_of": TODAY.isoformat()})
    assert stock.status_code == 200, stock.text
    got = stock.json()
    (location,) = got["locations"]
    assert location["location"] == "office"
    assert round(location["daily_use"], 3) == forecast["daily_demand"]
    assert location["daily_use"] == round(expected, 4)
    assert got["total"]["daily_use"] == location["daily_use"]
    assert (location["on_hand"], location["available"]) == (
        forecast["on_hand"],
        forecast["available"],
    )
    assert got["suket_outstanding"] == forecast["sukets_outstanding"] == len(sukets)
