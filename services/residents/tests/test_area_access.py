"""District staff see the residents of their areas only: one resident, history, partner status,
families (members filtered) and search (restricted in SQL, not filtered afterwards). A resident
or family outside them is "not found", answered exactly as one never registered."""

from __future__ import annotations

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

KAYU_AGUNG, PEDAMARAN = "16.02.05", "16.02.03"
JUA_JUA, KAYUAGUNG = "16.02.05.1001", "16.02.05.1002"
PEDAMARAN_VI = "16.02.03.2002"
KK = "1602050101200009"


def person(village: str, serial: int, kk: str = KK) -> dict[str, Any]:
    return {
        "nik": make_nik(village[:8], date(1985, 6, 1), Sex.MALE, serial),
        "kk": kk,
        "full_name": f"Warga {serial}",
        "birth_date": "1985-06-01",
        "sex": "L",
        "marital_status": "KAWIN",
        "village_code": village,
    }


# One family card whose members live in two districts (a member moved), plus neighbours.
JUA_JUA_MEMBER = person(JUA_JUA, 1)
PEDAMARAN_MEMBER = person(PEDAMARAN_VI, 2)
KAYUAGUNG_NEIGHBOUR = person(KAYUAGUNG, 3, kk="1602050101200010")
PEOPLE = [JUA_JUA_MEMBER, PEDAMARAN_MEMBER, KAYUAGUNG_NEIGHBOUR]


# Partner systems must say why they ask (the audit log records it).
PURPOSE = {"X-Purpose": "verifikasi kepesertaan"}


def staff(*areas: str, scopes: str = "residents:read") -> dict[str, str]:
    return shared_issuer().headers(scopes, client_id="kecamatan", areas=list(areas)) | PURPOSE


@pytest.fixture
async def client(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[httpx.AsyncClient]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
    )
    async with app_client(create_app, settings) as (http, _):
        for body in PEOPLE:
            created = await http.post("/v1/residents", json=body)
            assert created.status_code == 201, created.text
        yield http


async def found(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v1/residents", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["nik"] for item in response.json()["items"]]


async def test_search_is_restricted_to_the_callers_areas(client: httpx.AsyncClient) -> None:
    district = staff(KAYU_AGUNG)
    assert sorted(await found(client, district)) == sorted(
        [JUA_JUA_MEMBER["nik"], KAYUAGUNG_NEIGHBOUR["nik"]]
    )
    assert await found(client, district, village=JUA_JUA) == [JUA_JUA_MEMBER["nik"]]
    assert len(await found(client, district, district=KAYU_AGUNG)) == 2
    assert await found(client, staff(JUA_JUA)) == [JUA_JUA_MEMBER["nik"]]
    assert len(await found(client, staff("16.02"))) == 3  # the whole regency
    assert len(await found(client, staff(JUA_JUA, PEDAMARAN))) == 2

    for params in ({"village": PEDAMARAN_VI}, {"district": PEDAMARAN}):
        outside = await client.get("/v1/residents", params=params, headers=district)
        assert outside.status_code == 403, outside.text
        assert outside.headers["content-type"] == "application/problem+json"
    # A village's staff may not ask for the whole district around it.
    wider = await client.get(
        "/v1/residents", params={"district": KAYU_AGUNG}, headers=staff(JUA_JUA)
    )
    assert wider.status_code == 403


async def test_one_resident_history_and_partner_status_follow_the_village(
    client: httpx.AsyncClient,
) -> None:
    nik = PEDAMARAN_MEMBER["nik"]
    # Outside the caller's areas a resident is "not found" (see the test below).
    for path in (f"/v1/residents/{nik}", f"/v1/residents/{nik}/history"):
        assert (await client.get(path, headers=staff(KAYU_AGUNG))).status_code == 404
        assert (await client.get(path, headers=staff(PEDAMARAN))).status_code == 200
    status_path = f"/v1/residents/{nik}/ektp-status"
    partner = "residents:status"
    assert (
        await client.get(status_path, headers=staff(KAYU_AGUNG, scopes=partner))
    ).status_code == 404
    allowed = await client.get(status_path, headers=staff(PEDAMARAN_VI, scopes=partner))
    assert allowed.status_code == 200 and allowed.json()["ektp_status"] == "BELUM_REKAM"
    refused = await client.get(f"/v1/residents/{nik}", headers=staff(KAYU_AGUNG))
    assert nik not in refused.text and "Warga" not in refused.text  # no personal data
    unknown = make_nik("16.02.05", date(1970, 1, 1), Sex.MALE, 99)
    assert (
        await client.get(f"/v1/residents/{unknown}", headers=staff(KAYU_AGUNG))
    ).status_code == 404


async def test_a_partner_with_the_status_scope_reaches_the_status_api_only(
    client: httpx.AsyncClient,
) -> None:
    partner = shared_issuer().headers("residents:status", client_id="bpjs-kesehatan") | PURPOSE
    nik = JUA_JUA_MEMBER["nik"]
    assert (
        await client.get(f"/v1/residents/{nik}/ektp-status", headers=partner)
    ).status_code == 200
    for path in (f"/v1/residents/{nik}", f"/v1/residents/{nik}/history", f"/v1/families/{KK}"):
        assert (await client.get(path, headers=partner)).status_code == 403, path
    assert (await client.get("/v1/residents", headers=partner)).status_code == 403
    created = await client.post("/v1/residents", json=person(JUA_JUA, 7), headers=partner)
    assert created.status_code == 403


async def test_family_members_outside_the_areas_are_left_out(client: httpx.AsyncClient) -> None:
    whole = (await client.get(f"/v1/families/{KK}")).json()
    assert len(whole["members"]) == 2 and whole["eligible"] == 2

    seen = await client.get(f"/v1/families/{KK}", headers=staff(KAYU_AGUNG))
    assert seen.status_code == 200
    family = seen.json()
    assert [m["nik"] for m in family["members"]] == [JUA_JUA_MEMBER["nik"]]
    assert (family["eligible"], family["recorded"]) == (1, 0)

    # No member inside the caller's areas: answered exactly like an unknown KK.
    nobody_here = await client.get(f"/v1/families/{KK}", headers=staff("16.02.04"))
    unknown = await client.get("/v1/families/1602050101209999", headers=staff("16.02.04"))
    assert nobody_here.status_code == unknown.status_code == 404
    assert without_request_id(nobody_here) == without_request_id(unknown)


PER_REQUEST_HEADERS = frozenset({"x-request-id", "traceparent"})


def without_request_id(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Status, body and headers of an answer, the request's own ids (request id, trace)
    taken out."""
    request_id = response.headers["x-request-id"]
    body = response.content.replace(request_id.encode(), b"<request-id>")
    headers = sorted((k, v) for k, v in response.headers.items() if k not in PER_REQUEST_HEADERS)
    return response.status_code, body, headers


async def test_an_out_of_area_nik_is_answered_like_an_unregistered_one(
    client: httpx.AsyncClient,
) -> None:
    """A 403 for a registered resident and a 404 for an unknown NIK would let a district
    client probe the whole regency's register: both are the same 404, byte for byte."""
    registered = PEDAMARAN_MEMBER["nik"]
    unknown = make_nik("16.02.03", date(1985, 6, 1), Sex.MALE, 98)
    readers = (staff(KAYU_AGUNG), staff(KAYU_AGUNG, scopes="residents:status"))
    for path, headers in (
        ("/v1/residents/{}", readers[0]),
        ("/v1/residents/{}/history", readers[0]),
        ("/v1/residents/{}/ektp-status", readers[1]),
    ):
        outside = await client.get(path.format(registered), headers=headers)
        missing = await client.get(path.format(unknown), headers=headers)
        assert outside.status_code == 404, (path, outside.text)
        assert outside.headers["content-type"] == "application/problem+json"
        body = outside.content.replace(registered.encode(), unknown.encode())
        assert without_request_id(missing) == without_request_id(
            httpx.Response(404, content=body, headers=outside.headers)
        ), path


async def test_staff_register_residents_of_their_areas_and_the_history_names_them(
    client: httpx.AsyncClient,
) -> None:
    writer = staff(KAYU_AGUNG, scopes="residents:write residents:read")
    outside = await client.post("/v1/residents", json=person(PEDAMARAN_VI, 8), headers=writer)
    assert outside.status_code == 403
    inside = person(KAYUAGUNG, 9)
    assert (await client.post("/v1/residents", json=inside, headers=writer)).status_code == 201
    history = await client.get(f"/v1/residents/{inside['nik']}/history", headers=writer)
    assert [change["actor"] for change in history.json()] == ["kecamatan"]


async def test_register_imports_need_a_regency_wide_client(client: httpx.AsyncClient) -> None:
    body = b"nik,kk\n"
    headers = {"content-type": "text/csv"}
    limited = staff("16.02", scopes="residents:write")
    refused = await client.post("/v1/import-jobs", content=body, headers={**headers, **limited})
    assert refused.status_code == 403  # even the whole regency, when named as an area limit
    regency_wide = shared_issuer().headers("residents:write", client_id="operator")
    accepted = await client.post(
        "/v1/import-jobs", content=body, headers={**headers, **regency_wide}
    )
    assert accepted.status_code == 202, accepted.text
