"""`POST /v1/central-results`: the national de-duplication's decisions, applied one by one in one
transaction, each with its outcome; history and outbox written (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from jemput.residents.adapters.tables import Resident, ResidentCreate
from jemput.residents.domain.model import EktpStatus
from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.service_layer import importing, registration
from jemput.residents.service_layer.register_file import COLUMNS
from jemput.residents.settings import ResidentsSettings
from jemput.shared.events.residents import PrintReadyV1
from jemput.shared.messaging.tables import outbox
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate
from jemput.shared.timezone import office_day, office_day_start, today_in_office

S = EktpStatus


def nik_of(serial: int) -> str:
    return make_nik("16.02.05", date(1990, 5, 17), Sex.FEMALE, serial)


@pytest.fixture
async def api(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,  # keep the events in the outbox to read them
        consumer_enabled=False,
    )
    async with app_client(create_app, settings) as (client, app):
        yield client, app


async def seed(app: FastAPI, statuses: dict[int, EktpStatus]) -> None:
    runtime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        for serial, status in statuses.items():
            data = ResidentCreate.model_validate(
                {
                    "nik": nik_of(serial),
                    "kk": "1602050101200001",
                    "full_name": f"WARGA {serial}",
                    "birth_date": date(1990, 5, 17),
                    "sex": "P",
                    "marital_status": "KAWIN",
                    "village_code": "16.02.05.1001",
                    "ektp_status": status,
                }
            )
            await registration.create(
                session, runtime.outbox, data, regency_code="16.02", today=today_in_office()
            )


async def published(app: FastAPI) -> list[tuple[str, str]]:
    """(NIK, event name) of every outbox row after the registrations."""
    query = (
        sa.select(outbox.c.partition_key, outbox.c.event_type)
        .where(outbox.c.event_type != "jemput.residents.resident_registered.v1")
        .order_by(outbox.c.id)
    )
    async with app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [(nik, event_type.rsplit(".", 2)[-2]) for nik, event_type in rows]


async def history(client: httpx.AsyncClient, serial: int) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/residents/{nik_of(serial)}/history")
    assert response.status_code == 200
    return list(response.json())


async def test_applied_unchanged_refused_and_not_found_in_one_request(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    await seed(app, {1: S.SUDAH_REKAM, 2: S.SUDAH_REKAM, 3: S.PRINT_READY_RECORD, 4: S.BELUM_REKAM})
    # The register dates a status it was given to the registration: decide after that.
    decided = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    body = {
        "results": [
            {"nik": nik_of(1), "result": "PRINT_READY_RECORD", "reference": "SIAK-0001"},
            {"nik": nik_of(2), "result": "DUPLICATE", "decided_at": decided.isoformat()},
            {"nik": nik_of(3), "result": "PRINT_READY_RECORD"},
            {"nik": nik_of(4), "result": "PRINT_READY_RECORD"},
            {"nik": nik_of(99), "result": "DUPLICATE"},
        ]
    }
    response = await client.post(
        "/v1/central-results", json=body, headers={"x-request-id": "req-42"}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["nik"], r["outcome"], r["status"]) for r in results] == [
        (nik_of(1), "applied", "PRINT_READY_RECORD"),
        (nik_of(2), "applied", "DUPLICATE"),
        (nik_of(3), "unchanged", "PRINT_READY_RECORD"),
        (nik_of(4), "refused", "BELUM_REKAM"),
        (nik_of(99), "not_found", None),
    ]
    assert "BELUM_REKAM" in results[3]["reason"] and "PRINT_READY_RECORD" in results[3]["reason"]
    assert results[0]["reason"] is None

    [*_, cleared] = await history(client, 1)
    assert (cleared["from_status"], cleared["to_status"]) == ("SUDAH_REKAM", "PRINT_READY_RECORD")
    assert (cleared["cause"], cleared["cause_id"], cleared["actor"]) == (
        "central_result",
        "SIAK-0001",
        "national-dedup",
    )
    [*_, flagged] = await history(client, 2)
    assert (flagged["to_status"], flagged["cause_id"]) == ("DUPLICATE", "req-42")
    assert flagged["changed_at"] == decided.isoformat().replace("+00:00", "Z")
    assert [h["to_status"] for h in await history(client, 4)] == ["BELUM_REKAM"]

    assert await published(app) == [
        (nik_of(1), "ektp_status_changed"),
        (nik_of(1), "print_ready"),
        (nik_of(2), "ektp_status_changed"),
        (nik_of(2), "duplicate_flagged"),
    ]

    again = await client.post("/v1/central-results", json=body)
    assert [r["outcome"] for r in again.json()["results"]] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "refused",
        "not_found",
    ]
    assert len(await published(app)) == 4


async def test_a_duplicate_adjudicated_as_the_same_person_becomes_print_ready(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, app = api
    await seed(app, {5: S.SUDAH_REKAM})
    now = datetime.now(UTC)
    results = [
        {"nik": nik_of(5), "result": result, "decided_at": (now + timedelta(seconds=i)).isoformat()}
        for i, result in enumerate(["DUPLICATE", "PRINT_READY_RECORD", "PRINT_READY_RECORD"], 1)
    ]
    response = await client.post("/v1/central-results", json={"results": results})
    assert [r["outcome"] for r in response.json()["results"]] == ["applied", "applied", "unchanged"]
    assert (await client.get(f"/v1/residents/{nik_of(5)}")).json()[
        "ektp_status"
    ] == "PRINT_READY_RECORD"


async def test_more_niks_than_one_lookup_holds(api: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, app = api
    await seed(app, {1: S.SUDAH_REKAM, 2500: S.SUDAH_REKAM})
    niks = [nik_of(serial) for serial in range(1, 2501)]
    body = {"results": [{"nik": nik, "result": "PRINT_READY_RECORD"} for nik in niks]}
    response = await client.post("/v1/central-results", json=body)
    assert response.status_code == 200
    outcomes = [r["outcome"] for r in response.json()["results"]]
    assert outcomes[0] == outcomes[-1] == "applied"
    assert set(outcomes[1:-1]) == {"not_found"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"results": []}, "results"),
        ({"results": [{"nik": "1602055705900012", "result": "CARD_PRINTED"}]}, "results.0.result"),
        ({"results": [{"nik": "16020557059", "result": "DUPLICATE"}]}, "results.0.nik"),
        (
            {
                "results": [
                    {
                        "nik": "1602055705900012",
                        "result": "DUPLICATE",
                        "decided_at": "2026-11-20T03:00:00",
                    }
                ]
            },
            "results.0.decided_at",
        ),
        (
            {
                "results": [
                    {
                        "nik": "1602055705900012",
                        "result": "DUPLICATE",
                        "decided_at": "2999-01-01T00:00:00Z",
                    }
                ]
            },
            "results.0.decided_at",
        ),
        ({"results": [{"nik": "1602055705900012", "result": "DUPLICATE"}] * 10_001}, "results"),
    ],
)
async def test_bad_requests_are_422_and_apply_nothing(
    api: tuple[httpx.AsyncClient, FastAPI], body: dict[str, Any], field: str
) -> None:
    client, app = api
    await seed(app, {12: S.SUDAH_REKAM})
    good = {"nik": nik_of(12), "result": "PRINT_READY_RECORD"}
    if body["results"]:
        body = {"results": [good, *body["results"]]}
        field = field.replace("results.0", "results.1")
    response = await client.post("/v1/central-results", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert "16020557059" not in response.text  # NIKs are never echoed in errors
    assert await published(app) == []


async def test_print_ready_of_an_imported_recording_carries_its_village_and_day(
    api: tuple[httpx.AsyncClient, FastAPI], tmp_path: Path
) -> None:
    """A register row SUDAH_REKAM with TGL_REKAM, cleared centrally: `print_ready.v1` names the
    resident's own village and recording day (what places the print job in inventory's queue);
    without TGL_REKAM, the import's time, as stored."""
    client, app = api
    runtime = app.state.runtime
    path = tmp_path / "register.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for serial, recorded_on in ((11, "2019-03-04"), (12, "")):
            writer.writerow(
                {
                    "NIK": nik_of(serial),
                    "NO_KK": "1602050101200001",
                    "NAMA_LGKP": f"WARGA {serial}",
                    "TGL_LHR": "1990-05-17",
                    "JENIS_KLMIN": "PEREMPUAN",
                    "STAT_KWN": "KAWIN",
                    "KODE_DESA": "16.02.05.1002",
                    "STAT_EKTP": "SUDAH_REKAM",
                    "TGL_REKAM": recorded_on,
                }
            )
    await importing.create_job(runtime.engine, "job-1", path.name, "csv")
    counts = await importing.run_import(
        runtime.engine,
        runtime.outbox,
        job_id="job-1",
        path=path,
        file_format="csv",
        regency_code="16.02",
        today=today_in_office(),
        actor="test",
    )
    assert (counts.created, counts.rejected) == (2, 0)
    body = {"results": [{"nik": nik_of(s), "result": "PRINT_READY_RECORD"} for s in (11, 12)]}
    response = await client.post("/v1/central-results", json=body)
    assert [r["outcome"] for r in response.json()["results"]] == ["applied", "applied"]

    query = (
        sa.select(outbox.c.payload)
        .where(outbox.c.event_type == PrintReadyV1.event_type)
        .order_by(outbox.c.id)
    )
    async with runtime.engine.connect() as conn:
        dated, undated = [
            PrintReadyV1.model_validate_json(p) for p in (await conn.execute(query)).scalars()
        ]
        imported_at = (
            await conn.execute(
                sa.select(Resident.__table__.c.recorded_at).where(  # type: ignore[attr-defined]
                    Resident.__table__.c.nik == nik_of(12)  # type: ignore[attr-defined]
                )
            )
        ).scalar_one()
    assert (dated.nik, dated.village_code) == (nik_of(11), "16.02.05.1002")
    assert dated.recorded_at == office_day_start(date(2019, 3, 4))
    assert office_day(dated.recorded_at) == date(2019, 3, 4)
    assert (undated.village_code, undated.recorded_at) == ("16.02.05.1002", imported_at)
    assert undated.recorded_at is not None and undated.recorded_at <= undated.decided_at
