"""A duplicate's SUKET, across the register, inventory and analytics: the three services
in-process on their own databases, each with its relay and consumer on the local Kafka, and
outreach's recordings published as its relay would.

A resident recorded when no blank is left gets a SUKET: inventory lists it, the register and
its partner API say `suket_outstanding`, analytics counts it. The national de-duplication flags
the resident a duplicate: inventory drops the job and revokes the SUKET, the register clears
the flag (a SUKET event, no status event without a status change), analytics stops counting
it. Re-recorded (still no blank), the resident gets a new SUKET everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from jemput.analytics.entrypoints.http.app import create_app as create_analytics_app
from jemput.analytics.settings import AnalyticsSettings
from jemput.analytics.testing import publish
from jemput.inventory.entrypoints.http.app import create_app as create_inventory_app
from jemput.inventory.settings import InventorySettings
from jemput.residents.entrypoints.http.app import create_app as create_residents_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.messaging.kafka import ensure_topics
from jemput.shared.nik import Sex, make_nik
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate

pytestmark = [pytest.mark.kafka]

VILLAGE = "16.02.05.1001"
NIK = make_nik("16.02.05", date(1990, 5, 17), Sex.FEMALE, 41)


@dataclass
class Services:
    residents: httpx.AsyncClient
    inventory: httpx.AsyncClient
    analytics: httpx.AsyncClient
    bootstrap: str
    namespace: str

    async def record(self, recording_id: str, at: datetime) -> None:
        event = RecordingCapturedV1(
            recording_id=recording_id, nik=NIK, captured_at=at, village_code=VILLAGE
        )
        await publish(self.bootstrap, self.namespace, [(event, at)])

    async def get(self, client: httpx.AsyncClient, path: str, **params: str) -> Any:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def holds_suket(self) -> tuple[bool, int, int]:
        """The register's flag, inventory's outstanding SUKETs, analytics' count."""
        register = await self.get(self.residents, f"/v1/residents/{NIK}/ektp-status")
        listed = await self.get(self.inventory, "/v1/sukets")
        stock = await self.get(self.analytics, "/v1/stock", area=VILLAGE)
        return register["suket_outstanding"], len(listed["items"]), stock["suket_outstanding"]


async def eventually(check: Callable[[], Awaitable[Any]], wanted: Any, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while (got := await check()) != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"{got} != {wanted}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def services(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Services]:
    topics = [f"{kafka_namespace}jemput.{p}.v1" for p in ("residents", "outreach", "inventory")]
    await ensure_topics(kafka_bootstrap, topics, partitions=3)
    kafka: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_namespace": kafka_namespace,
    }
    apps: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings], dict[str, Any]]] = {
        "residents": (create_residents_app, ResidentsSettings, {"webhooks_enabled": False}),
        "inventory": (create_inventory_app, InventorySettings, {}),
        "analytics": (create_analytics_app, AnalyticsSettings, {"relay_enabled": False}),
    }
    clients = {}
    async with AsyncExitStack() as stack:
        for service, (create_app, settings_class, extra) in apps.items():
            url = f"sqlite+aiosqlite:///{tmp_path / service}.db"
            await migrate(service, url)
            settings = settings_class(database_url=url, **kafka, **extra)
            clients[service], _ = await stack.enter_async_context(app_client(create_app, settings))
        yield Services(**clients, bootstrap=kafka_bootstrap, namespace=kafka_namespace)


async def test_a_duplicate_revokes_the_suket_in_every_service(services: Services) -> None:
    created = await services.residents.post(
        "/v1/residents",
        json={
            "nik": NIK,
            "kk": "1602050101200001",
            "full_name": "SITI AMINAH",
            "birth_date": "1990-05-17",
            "sex": "P",
            "marital_status": "KAWIN",
            "village_code": VILLAGE,
        },
    )
    assert created.status_code == 201, created.text
    recorded_at = datetime.now(UTC) - timedelta(hours=2)
    await services.record("rec-1", recorded_at)  # no blank at all: a SUKET
    await eventually(services.holds_suket, (True, 1, 1))
    (first,) = (await services.get(services.inventory, "/v1/sukets"))["items"]

    results = await services.residents.post(
        "/v1/central-results", json={"results": [{"nik": NIK, "result": "DUPLICATE"}]}
    )
    assert results.status_code == 200, results.text
    assert [r["outcome"] for r in results.json()["results"]] == ["applied"]
    await eventually(services.holds_suket, (False, 0, 0))
    revoked = await services.get(services.inventory, "/v1/sukets", status="revoked")
    assert [s["number"] for s in revoked["items"]] == [first["number"]]
    status = await services.get(services.residents, f"/v1/residents/{NIK}/ektp-status")
    assert (status["ektp_status"], status["suket_outstanding"]) == ("DUPLICATE", False)
    history = await services.get(services.residents, f"/v1/residents/{NIK}/history")
    # No status event for the SUKET: the register's history has status changes only.
    assert all(h["from_status"] != h["to_status"] for h in history)

    await services.record("rec-2", datetime.now(UTC))  # re-recorded, still no blank
    await eventually(services.holds_suket, (True, 1, 1))
    (renewed,) = (await services.get(services.inventory, "/v1/sukets"))["items"]
    assert renewed["number"] != first["number"]
    status = await services.get(services.residents, f"/v1/residents/{NIK}/ektp-status")
    assert status["ektp_status"] == "SUDAH_REKAM"
