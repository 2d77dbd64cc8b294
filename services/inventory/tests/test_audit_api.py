"""Print jobs and SUKETs name residents: every read of them and every print, spoil and hand-over
over HTTP leaves an audit entry (caller, NIK, action, result), refusals included, and auditors
find them at `GET /v1/audit/entries`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from jemput.inventory.testing import NOW, Inventory, start_inventory
from jemput.shared.testing.auth import shared_issuer

pytestmark = pytest.mark.kafka

OPERATOR = "operator-cetak"


@pytest.fixture
async def inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Inventory]:
    async for driver in start_inventory(database_url, kafka_bootstrap, kafka_namespace):
        yield driver


def caller(scopes: str, client_id: str, **extra: Any) -> dict[str, str]:
    return shared_issuer().headers(scopes, client_id=client_id, **extra)


async def entries(inventory: Inventory, **params: str) -> list[dict[str, Any]]:
    auditor = caller("audit:read", "inspektorat")
    answer = await inventory.client.get(
        "/v1/audit/entries", params={"page_size": "100", **params}, headers=auditor
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def eventually(inventory: Inventory, count: int, **params: str) -> list[dict[str, Any]]:
    """Refusals of changes are stored just after their transaction rolls back."""
    for _ in range(100):
        found = await entries(inventory, **params)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return await entries(inventory, **params)


def seen(log: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((e["client_id"], e["action"], e["result"]) for e in log)


async def test_print_jobs_and_sukets_are_audited(inventory: Inventory) -> None:
    client = inventory.client
    staff = caller("inventory:read inventory:print", OPERATOR)
    await inventory.receive(1, 1)
    printed_job = await inventory.record(1, at=NOW + timedelta(minutes=1))
    waiting_job = await inventory.record(2, at=NOW + timedelta(minutes=2))  # holds a SUKET

    listed = await client.get("/v1/print-jobs", headers=staff)
    assert sorted(j["nik"] for j in listed.json()["items"]) == sorted(
        [printed_job.nik, waiting_job.nik]
    )
    assert (await client.get(f"/v1/print-jobs/{printed_job.id}", headers=staff)).is_success
    assert (await client.get("/v1/print-jobs/no-such-job", headers=staff)).status_code == 404
    printed = await client.post(
        f"/v1/print-jobs/{printed_job.id}:print", json={"card_serial": "KTP-000001"}, headers=staff
    )
    assert printed.status_code == 200, printed.text
    issued = await client.post(f"/v1/print-jobs/{printed_job.id}:issue", headers=staff)
    assert issued.status_code == 200, issued.text
    # No blank is reserved for the SUKET holder: refused, and recorded under the resident.
    refused = await client.post(
        f"/v1/print-jobs/{waiting_job.id}:print", json={"card_serial": "KTP-000002"}, headers=staff
    )
    assert refused.status_code == 409
    not_printed = await client.post(f"/v1/print-jobs/{waiting_job.id}:issue", headers=staff)
    assert not_printed.status_code == 409
    sukets = await client.get("/v1/sukets", headers=staff)
    assert [s["nik"] for s in sukets.json()["items"]] == [waiting_job.nik]

    assert seen(await entries(inventory, nik=printed_job.nik)) == sorted(
        [
            (OPERATOR, "print_job.list", "ok"),
            (OPERATOR, "print_job.read", "ok"),
            (OPERATOR, "print_job.print", "ok"),
            (OPERATOR, "print_job.issue", "ok"),
        ]
    )
    assert seen(await eventually(inventory, 4, nik=waiting_job.nik)) == sorted(
        [
            (OPERATOR, "print_job.list", "ok"),
            (OPERATOR, "print_job.print", "refused"),
            (OPERATOR, "print_job.issue", "refused"),
            (OPERATOR, "suket.list", "ok"),
        ]
    )
    reads = await entries(inventory, action="print_job.read")
    (unknown,) = [e for e in reads if e["result"] == "not_found"]
    assert (unknown["nik"], unknown["detail"]) == (None, "print job no-such-job")
    (printing,) = await entries(inventory, action="print_job.print", nik=printed_job.nik)
    assert printing["detail"] == f"print job {printed_job.id}"
    assert printing["recorded_at"] and printing["request_id"]


async def test_auditors_only(inventory: Inventory) -> None:
    for headers in (
        caller("inventory:read inventory:print", OPERATOR),
        caller("audit:read", "district-auditor", areas=["16.02.05"]),
    ):
        answer = await inventory.client.get("/v1/audit/entries", headers=headers)
        assert answer.status_code == 403
