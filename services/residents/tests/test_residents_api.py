"""The residents API over real HTTP handling, a real database (SQLite and PostgreSQL) and Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.messaging.tables import outbox
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate

VILLAGE = "16.02.05.1001"  # Jua-jua, Kayu Agung, OKI


def resident_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "nik": make_nik("16.02.05", date(1990, 5, 17), Sex.FEMALE, 12),
        "kk": "1602050101200001",
        "full_name": "Siti Aminah",
        "birth_date": "1990-05-17",
        "sex": "P",
        "marital_status": "KAWIN",
        "village_code": VILLAGE,
    }
    body.update(overrides)
    return body


@pytest.fixture
async def api(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,  # keep rows in the outbox so the test can count them
    )
    async with app_client(create_app, settings) as (client, app):
        yield client, app


async def outbox_rows(app: object) -> int:
    runtime = app.state.runtime  # type: ignore[attr-defined]
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())


INVALID_NIKS = [
    ("160205570590001", "nik_length"),
    ("16020557059000123", "nik_length"),
    ("16020557059O0012", "nik_not_digits"),
    ("9902055705900012", "nik_unknown_region"),
    ("1602993205900012", "nik_unknown_region"),
    ("1602053213900012", "nik_invalid_birth_date"),
    ("1602055705900000", "nik_serial_zero"),
]


@pytest.mark.parametrize(("nik", "code"), INVALID_NIKS)
async def test_invalid_nik_is_a_422_problem_and_nothing_is_stored(
    api: tuple[httpx.AsyncClient, object], nik: str, code: str
) -> None:
    client, app = api
    response = await client.post("/v1/residents", json=resident_body(nik=nik))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("nik", code)]
    assert nik not in response.text  # the NIK is personal data: never echoed back
    assert await outbox_rows(app) == 0
    if nik.isdigit() and len(nik) == 16:
        assert (await client.get(f"/v1/residents/{nik}")).status_code == 404


# What the register import refuses, the API refuses with the same code (test_import has the rows).
INVALID_RECORDS = [
    ({"kk": "16020501012000AB"}, "kk", "kk_format"),
    ({"kk": "123"}, "kk", "kk_format"),
    ({"rt": "AB"}, "rt", "invalid_rt"),
    ({"rw": "1234"}, "rw", "invalid_rw"),
    ({"full_name": "   "}, "full_name", "missing"),
    ({"full_name": "A" * 201}, "full_name", "too_long"),
    ({"birth_place": "X" * 101}, "birth_place", "too_long"),
    ({"sex": "X"}, "sex", "invalid_sex"),
    ({"marital_status": "JOMBLO"}, "marital_status", "invalid_marital_status"),
    ({"birth_date": "1990-02-30"}, "birth_date", "invalid_date"),
    ({"village_code": "desa"}, "village_code", "unknown_village"),
]


@pytest.mark.parametrize(("overrides", "field", "code"), INVALID_RECORDS)
async def test_api_refuses_what_the_import_refuses(
    api: tuple[httpx.AsyncClient, object], overrides: dict[str, object], field: str, code: str
) -> None:
    client, app = api
    body = resident_body(**overrides)
    response = await client.post("/v1/residents", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert await outbox_rows(app) == 0
    assert (await client.get(f"/v1/residents/{body['nik']}")).status_code == 404


async def test_api_stores_the_register_form(api: tuple[httpx.AsyncClient, object]) -> None:
    client, _ = api
    body = resident_body(full_name="  Siti   Aminah ", rt="7", rw="012")
    created = await client.post("/v1/residents", json=body)
    assert created.status_code == 201, created.text
    stored = created.json()
    assert (stored["full_name"], stored["rt"], stored["rw"]) == ("Siti Aminah", "007", "012")


async def test_register_read_and_resend(api: tuple[httpx.AsyncClient, object]) -> None:
    client, app = api
    body = resident_body()
    created = await client.post("/v1/residents", json=body)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/residents/{body['nik']}"
    assert created.json()["ektp_status"] == "BELUM_REKAM"

    read = await client.get(f"/v1/residents/{body['nik']}")
    assert read.status_code == 200
    assert read.json()["full_name"] == "Siti Aminah"
    assert read.json()["created_at"].endswith("Z")

    again = await client.post("/v1/residents", json=body)
    assert again.status_code == 200
    assert await outbox_rows(app) == 1  # the resend published nothing

    changed = await client.post("/v1/residents", json=resident_body(full_name="Siti A."))
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    assert await outbox_rows(app) == 1


async def test_record_must_agree_with_nik(api: tuple[httpx.AsyncClient, object]) -> None:
    client, app = api
    response = await client.post(
        "/v1/residents", json=resident_body(birth_date="1990-05-18", sex="L")
    )
    assert response.status_code == 422
    codes = {e["code"] for e in response.json()["errors"]}
    assert codes == {"birth_date_disagrees_with_nik", "sex_disagrees_with_nik"}
    assert await outbox_rows(app) == 0


async def test_village_must_be_in_the_regency(api: tuple[httpx.AsyncClient, object]) -> None:
    client, _ = api
    response = await client.post("/v1/residents", json=resident_body(village_code="11.01.01.2001"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "village_outside_regency"


async def test_child_is_not_yet_eligible(api: tuple[httpx.AsyncClient, object]) -> None:
    client, _ = api
    nik = make_nik("16.02.05", date(2015, 1, 2), Sex.MALE, 7)
    body = resident_body(nik=nik, birth_date="2015-01-02", sex="L", marital_status="BELUM_KAWIN")
    response = await client.post("/v1/residents", json=body)
    assert response.status_code == 201
    assert response.json()["ektp_status"] == "BELUM_WAJIB"


async def test_malformed_json_is_a_problem_not_a_500(api: tuple[httpx.AsyncClient, object]) -> None:
    client, _ = api
    response = await client.post(
        "/v1/residents", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400  # an unreadable body, not an invalid field
    assert response.headers["content-type"] == "application/problem+json"
