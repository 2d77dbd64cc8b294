"""`make up`'s launcher brings up the four services as real processes; a resident created over
HTTP (with a token from `jemput auth token`) is counted by analytics' coverage endpoint (read
with the admin API key `jemput auth init` printed) within 2 seconds."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jemput.shared.nik import Sex, make_nik
from jemput.shared.timezone import today_in_office

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("residents", "outreach", "inventory", "analytics")


def free_base_port() -> int:
    """Four consecutive free ports."""
    for base in range(18101, 19000, 10):
        try:
            sockets = []
            for port in range(base, base + 4):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            for s in sockets:
                s.close()
            return base
        except OSError:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


@dataclass
class Stack:
    urls: dict[str, str]
    token: str  # residents:write and analytics:read, from `jemput auth token`
    admin_key: str  # printed once by `jemput auth init`


@pytest.fixture
def stack(tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str) -> Iterator[Stack]:
    base = free_base_port()
    env = dict(os.environ)
    for service in SERVICES:
        env[f"JEMPUT_{service.upper()}_KAFKA_NAMESPACE"] = kafka_namespace
    command = [sys.executable, str(ROOT / "deploy/local/stack.py")]
    options = ["--var", str(tmp_path / "var"), "--base-port", str(base), "--kafka", kafka_bootstrap]
    up = subprocess.run([*command, "up", *options], env=env, capture_output=True, text=True)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Jemput berjalan" in up.stdout
        assert "jemput auth token" in up.stdout  # says how to call the API
        admin_key = re.search(r"jk_[A-Za-z0-9_-]{40,}", up.stdout)
        assert admin_key, up.stdout
        scopes = "residents:write analytics:read"
        token_options = [
            "--dir",
            str(tmp_path / "var" / "auth"),
            "--client",
            "e2e",
            "--scope",
            scopes,
        ]
        minted = subprocess.run(
            [sys.executable, "-m", "jemput.shared.cli", "auth", "token", *token_options],
            env=env,
            capture_output=True,
            text=True,
        )
        assert minted.returncode == 0, minted.stderr
        yield Stack(
            urls={service: f"http://127.0.0.1:{base + i}" for i, service in enumerate(SERVICES)},
            token=minted.stdout.strip(),
            admin_key=admin_key.group(0),
        )
    finally:
        down = subprocess.run(
            [*command, "down", *options[:2]], env=env, capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr
        for log in sorted((tmp_path / "var" / "log").glob("*.log")):
            assert "Traceback" not in log.read_text(), f"{log.name} has a traceback"


async def test_resident_created_over_http_is_counted_within_two_seconds(stack: Stack) -> None:
    urls = stack.urls
    bearer = {"Authorization": f"Bearer {stack.token}"}
    async with (
        httpx.AsyncClient(timeout=5, headers={"X-API-Key": stack.admin_key}) as client,
        httpx.AsyncClient(timeout=5, headers=bearer) as staff,
        httpx.AsyncClient(timeout=5) as anonymous,
    ):
        for url in urls.values():
            health = await client.get(url + "/healthz")
            assert health.json() == {"status": "ok"}
            ready = await client.get(url + "/readyz")
            assert ready.status_code == 200, ready.text
        refused = await anonymous.get(urls["residents"] + "/v1/residents")
        assert refused.status_code == 401
        nik = make_nik("16.02.13", date(1975, 8, 17), Sex.FEMALE, 4321)  # Lempuing
        village = "16.02.13.2005"  # Tebing Suluh
        before = (
            await client.get(urls["analytics"] + "/v1/coverage", params={"area": "16.02"})
        ).json()
        created_at = time.monotonic()
        response = await staff.post(
            urls["residents"] + "/v1/residents",
            json={
                "nik": nik,
                "kk": "1602131708750001",
                "full_name": "Rohana",
                "birth_date": "1975-08-17",
                "sex": "P",
                "marital_status": "KAWIN",
                "village_code": village,
            },
        )
        assert response.status_code == 201, response.text
        counted = None
        while time.monotonic() - created_at < 2.0:
            report = (
                await client.get(urls["analytics"] + "/v1/coverage", params={"area": "16.02"})
            ).json()
            if report["area"]["eligible"] == before["area"]["eligible"] + 1:
                counted = time.monotonic() - created_at
                break
            await asyncio.sleep(0.05)
        assert counted is not None, "analytics did not count the resident within 2 seconds"
        lempuing = next(c for c in report["children"] if c["code"] == "16.02.13")
        assert lempuing["eligible"] == 1
        assert lempuing["recorded"] == 0
        district = (
            await client.get(urls["analytics"] + "/v1/coverage", params={"area": "16.02.13"})
        ).json()
        assert next(c for c in district["children"] if c["code"] == village)["eligible"] == 1
        metrics = await client.get(urls["residents"] + "/metrics")
        assert "jemput_outbox_published_total 1.0" in metrics.text
        # Analytics exports how far behind it is on each partition it reads.
        lag_line = re.compile(
            r'^jemput_consumer_lag\{partition="\d+",topic="[^"]*residents[^"]*"\} 0\.0$', re.M
        )
        for _ in range(50):
            scraped = (await client.get(urls["analytics"] + "/metrics")).text
            if lag_line.search(scraped):
                break
            await asyncio.sleep(0.1)
        assert lag_line.search(scraped), "analytics exports no consumer lag for residents' topic"


async def test_an_imported_registers_recording_days_reach_analytics_trend(stack: Stack) -> None:
    """A register imported over HTTP with TGL_REKAM: analytics counts each resident recorded on
    that day (the trend, the pace, coverage as of a day); a recorded row without TGL_REKAM on
    the day of the import."""
    urls = stack.urls
    today = today_in_office()
    village = "16.02.13.2005"
    rows = [
        ("SUDAH_REKAM", today - timedelta(days=10)),
        ("PRINT_READY_RECORD", today - timedelta(days=20)),
        ("CARD_ISSUED", date(2020, 1, 6)),
        ("SUDAH_REKAM", None),
        ("BELUM_REKAM", None),
    ]
    out = io.StringIO()
    columns = ["NIK", "NO_KK", "NAMA_LGKP", "TGL_LHR", "JENIS_KLMIN", "STAT_KWN", "KODE_DESA"]
    writer = csv.writer(out)
    writer.writerow([*columns, "STAT_EKTP", "TGL_REKAM"])
    born = date(1980, 3, 9)
    for serial, (status, recorded_on) in enumerate(rows, start=1):
        nik = make_nik("16.02.13", born, Sex.MALE, 7000 + serial)
        day = recorded_on.strftime("%d-%m-%Y") if recorded_on else ""
        person = [nik, "1602130903800001", f"WARGA {serial}", born.isoformat(), "L", "KAWIN"]
        writer.writerow([*person, village, status, day])
    async with (
        httpx.AsyncClient(timeout=5, headers={"X-API-Key": stack.admin_key}) as client,
        httpx.AsyncClient(timeout=5, headers={"Authorization": f"Bearer {stack.token}"}) as staff,
    ):
        started = await staff.post(
            urls["residents"] + "/v1/import-jobs",
            params={"file_name": "tebing-suluh.csv"},
            content=out.getvalue().encode(),
            headers={"content-type": "text/csv"},
        )
        assert started.status_code == 202, started.text
        progress: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            progress = (
                await client.get(urls["analytics"] + "/v1/progress", params={"area": village})
            ).json()
            if progress["area"]["eligible"] == len(rows) and progress["area"]["recorded"] == 4:
                break
            await asyncio.sleep(0.2)
        assert (progress["area"]["eligible"], progress["area"]["recorded"]) == (5, 4), progress
        daily = {d["day"]: d["recorded"] for d in progress["daily"] if d["recorded"]}
        assert daily == {
            (today - timedelta(days=20)).isoformat(): 1,
            (today - timedelta(days=10)).isoformat(): 1,
            today.isoformat(): 1,
        }
        assert progress["area"]["pace_14_days"] == round(2 / 14, 4)
        assert progress["area"]["pace_30_days"] == round(3 / 30, 4)
        earlier = (
            await client.get(
                urls["analytics"] + "/v1/coverage",
                params={"area": village, "as_of": (today - timedelta(days=15)).isoformat()},
            )
        ).json()
        assert earlier["area"]["recorded"] == 2
