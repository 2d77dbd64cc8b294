"""Every read and change of a resident's data through the HTTP API leaves an audit entry with
the caller, the purpose, the NIK, the action and the result — refusals included — and auditors
find them at `GET /v1/audit/entries`. Partners without a purpose are refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.auth import shared_issuer
from jemput.shared.testing.fixtures import migrate

VILLAGE = "16.02.05.1001"
NIK = make_nik("16.02.05", date(1990, 2, 3), Sex.FEMALE, 7)
UNKNOWN = make_nik("16.02.05", date(1990, 2, 3), Sex.FEMALE, 8)
PURPOSE = "verifikasi kepesertaan JKN"
RESIDENT = {
    "nik": NIK,
    "kk": "1602050302900001",
    "full_name": "Siti Audit",
    "birth_date": "1990-02-03",
    "sex": "P",
    "marital_status": "KAWIN",
    "village_code": VILLAGE,
}


def caller(scopes: str, client_id: str, **extra: Any) -> dict[str, str]:
    return shared_issuer().headers(scopes, client_id=client_id, **extra)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url, relay_enabled=False, consumer_enabled=False
    )
    async with app_client(create_app, settings) as (http, _):
        yield http


async def entries(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    auditor = caller("audit:read", "inspektorat")
    answer = await client.get(
        "/v1/audit/entries", params={"page_size": "100", **params}, headers=auditor
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def eventually_entries(
    client: httpx.AsyncClient, count: int, **params: str
) -> list[dict[str, Any]]:
    """Refusals of changes are stored just after their transaction rolls back."""
    for _ in range(100):
        found = await entries(client, **params)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return await entries(client, **params)


async def test_reads_and_changes_are_recorded_with_caller_purpose_and_result(
    client: httpx.AsyncClient,
) -> None:
    clerk = caller("residents:read residents:write", "operator-kayuagung")
    created = await client.post("/v1/residents", json=RESIDENT, headers=clerk)
    assert created.status_code == 201, created.text
    partner = caller("residents:status", "bpjs") | {"X-Purpose": PURPOSE}
    assert (await client.get(f"/v1/residents/{NIK}/ektp-status", headers=partner)).is_success
    assert (await client.get(f"/v1/residents/{NIK}", headers=clerk)).is_success
    assert (await client.get(f"/v1/residents/{NIK}/history", headers=clerk)).is_success
    assert (await client.get(f"/v1/residents/{UNKNOWN}", headers=clerk)).status_code == 404
    elsewhere = caller("residents:read", "kec-pedamaran", areas=["16.02.03"])
    # Answered like an unknown NIK, recorded as denied.
    assert (await client.get(f"/v1/residents/{NIK}", headers=elsewhere)).status_code == 404
    found = await client.get("/v1/residents", params={"village": VILLAGE}, headers=clerk)
    assert [r["nik"] for r in found.json()["items"]] == [NIK]
    changed = dict(RESIDENT, full_name="Siti Lain")
    assert (await client.post("/v1/residents", json=changed, headers=clerk)).status_code == 409

    log = await eventually_entries(client, 7, nik=NIK)
    seen = sorted((e["client_id"], e["action"], e["result"]) for e in log)
    assert seen == sorted(
        [
            ("operator-kayuagung", "resident.create", "ok"),
            ("operator-kayuagung", "resident.create", "refused"),
            ("bpjs", "resident.status.read", "ok"),
            ("operator-kayuagung", "resident.read", "ok"),
            ("operator-kayuagung", "resident.history.read", "ok"),
            ("kec-pedamaran", "resident.read", "denied"),
            ("operator-kayuagung", "resident.search", "ok"),
        ]
    )
    assert {e["purpose"] for e in log if e["client_id"] == "bpjs"} == {PURPOSE}
    assert all(e["recorded_at"] for e in log)
    unknown = await entries(client, nik=UNKNOWN)
    assert [(e["action"], e["result"]) for e in unknown] == [("resident.read", "not_found")]
    # The search entry says which filters, never the name searched for.
    (search,) = [e for e in log if e["action"] == "resident.search"]
    assert f"village={VILLAGE}" in search["detail"]


async def test_a_partner_must_state_its_purpose(client: httpx.AsyncClient) -> None:
    admin = caller("admin", "admin")
    assert (await client.post("/v1/residents", json=RESIDENT, headers=admin)).status_code == 201
    partner = caller("residents:status", "bank-sumsel")
    refused = await client.get(f"/v1/residents/{NIK}/ektp-status", headers=partner)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "X-Purpose" in refused.json()["detail"] and NIK not in refused.text
    assert [e for e in await entries(client, nik=NIK) if e["client_id"] == "bank-sumsel"] == []


async def test_central_results_are_recorded_in_their_transaction(
    client: httpx.AsyncClient,
) -> None:
    admin = caller("admin", "admin")
    assert (await client.post("/v1/residents", json=RESIDENT, headers=admin)).status_code == 201
    ministry = caller("residents:central", "dukcapil-pusat")
    sent = await client.post(
        "/v1/central-results",
        json={
            "results": [
                {"nik": NIK, "result": "PRINT_READY_RECORD"},
                {"nik": UNKNOWN, "result": "PRINT_READY_RECORD"},
            ]
        },
        headers=ministry,
    )
    assert sent.status_code == 200, sent.text
    outcomes = {r["nik"]: r["outcome"] for r in sent.json()["results"]}
    expected = {"not_found": "not_found", "refused": "refused", "applied": "ok"}
    for nik in (NIK, UNKNOWN):
        (entry,) = await entries(client, nik=nik, client_id="dukcapil-pusat")
        assert entry["action"] == "central_result.apply"
        assert entry["result"] == expected.get(outcomes[nik], "ok")


async def test_auditors_only(client: httpx.AsyncClient) -> None:
    for headers in (
        caller("residents:read", "clerk"),
        caller("audit:read", "district-auditor", areas=["16.02.05"]),
    ):
        answer = await client.get("/v1/audit/entries", headers=headers)
        assert answer.status_code == 403
