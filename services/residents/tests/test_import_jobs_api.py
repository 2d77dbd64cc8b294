"""`/v1/import-jobs` over HTTP: upload, follow the job, read its row problems."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.service_layer.register_file import COLUMNS
from jemput.residents.settings import ResidentsSettings
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate


def register_csv(
    count: int, bad_lines: int, *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=delimiter)
    writer.writeheader()
    for serial in range(1, count + 1):
        born = date(1960 + serial % 40, 1 + serial % 12, 1 + serial % 28)
        writer.writerow(
            {
                "NIK": make_nik("16.02.05", born, Sex.FEMALE, serial),
                "NO_KK": f"1602050101200{serial:03d}",
                "NAMA_LGKP": f"WARGA {serial}" if serial % 2 else f"JOSÉ MARÍA {serial}",
                "TGL_LHR": born.isoformat() if serial > bad_lines else "bukan tanggal",
                "JENIS_KLMIN": "PEREMPUAN",
                "STAT_KWN": "KAWIN",
                "KODE_DESA": "16.02.05.1001",
            }
        )
    return out.getvalue().encode(encoding)


@pytest.fixture
async def client(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    await migrate("residents", database_url)
    settings = ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        import_folder=str(tmp_path / "imports"),
    )
    async with app_client(create_app, settings) as (http, _):
        yield http


async def test_upload_follow_and_read_problems(client: httpx.AsyncClient) -> None:
    body = register_csv(30, bad_lines=3)
    started = await client.post(
        "/v1/import-jobs",
        params={"file_name": "desa-jua-jua.csv"},
        content=body,
        headers={"content-type": "text/csv"},
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job: dict[str, object] = {}
    for _ in range(200):
        job = (await client.get(f"/v1/import-jobs/{job_id}")).json()
        if job["state"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "succeeded"
    assert (job["total_rows"], job["created"], job["rejected"]) == (30, 27, 3)
    assert job["file_name"] == "desa-jua-jua.csv"

    first = (await client.get(f"/v1/import-jobs/{job_id}/errors", params={"page_size": 2})).json()
    assert [(e["line"], e["field"], e["code"]) for e in first["items"]] == [
        (2, "TGL_LHR", "invalid_date"),
        (3, "TGL_LHR", "invalid_date"),
    ]
    rest = (
        await client.get(
            f"/v1/import-jobs/{job_id}/errors", params={"page_token": first["next_page_token"]}
        )
    ).json()
    assert [e["line"] for e in rest["items"]] == [4]
    assert rest["next_page_token"] is None


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, object]:
    job: dict[str, object] = {}
    for _ in range(200):
        job = (await client.get(f"/v1/import-jobs/{job_id}")).json()
        if job["state"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    return job


@pytest.mark.parametrize("content_type", ["text/csv; charset=windows-1252", "text/csv"])
async def test_a_spreadsheet_export_is_read(client: httpx.AsyncClient, content_type: str) -> None:
    """windows-1252 and semicolons, as office spreadsheets save: declared or detected."""
    body = register_csv(12, bad_lines=0, encoding="cp1252", delimiter=";")
    started = await client.post(
        "/v1/import-jobs", content=body, headers={"content-type": content_type}
    )
    assert started.status_code == 202, started.text
    job = await finished(client, started.json()["id"])
    assert (job["state"], job["created"], job["rejected"]) == ("succeeded", 12, 0)
    nik = make_nik("16.02.05", date(1962, 3, 3), Sex.FEMALE, 2)
    assert (await client.get(f"/v1/residents/{nik}")).json()["full_name"] == "JOSÉ MARÍA 2"


async def test_a_line_not_in_the_declared_charset_is_its_own_error(
    client: httpx.AsyncClient,
) -> None:
    lines = register_csv(6, bad_lines=0).splitlines(keepends=True)
    lines[2] = lines[2].replace("JOSÉ".encode(), "JOSÉ".encode("cp1252"))  # line 3
    started = await client.post(
        "/v1/import-jobs",
        content=b"".join(lines),
        headers={"content-type": "text/csv; charset=utf-8"},
    )
    job = await finished(client, started.json()["id"])
    assert (job["state"], job["created"], job["rejected"]) == ("succeeded", 5, 1)
    errors = (await client.get(f"/v1/import-jobs/{started.json()['id']}/errors")).json()
    assert [(e["line"], e["field"], e["code"]) for e in errors["items"]] == [
        (3, "(row)", "undecodable_line")
    ]


async def test_an_unknown_charset_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/import-jobs",
        content=register_csv(2, bad_lines=0),
        headers={"content-type": "text/csv; charset=klingon"},
    )
    assert response.status_code == 415
    assert "klingon" in response.json()["detail"]


async def test_wrong_content_type_and_unknown_job(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/import-jobs", content=b"{}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    untyped = await client.post("/v1/import-jobs", content=b"NIK,NAMA_LGKP\n")
    assert untyped.status_code == 415  # no content type is no media type the route reads
    missing = await client.get("/v1/import-jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
