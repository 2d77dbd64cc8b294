"""Inventory's `GET /v1/forecast` with many SUKETs outstanding, beside the same app's `/healthz`.

    .venv/bin/python bench/forecast.py [--sukets 10000 100000] [--repeat 3] [--requests 20]
        [--database-url postgresql+asyncpg://jemput:jemput@127.0.0.1:55432/jemput_bench_forecast]

For each size N the database is made afresh and migrated to revision 0007 (the schema the
office ran when the forecast took 98-116 s), then loaded set-based with rows shaped as the
print queue writes them:

- N residents turned away with a SUKET: an open job without a blank, the SUKET outstanding
  (half of them cleared for printing);
- N/2 residents served long ago: an issued job, its SUKET cleared;
- N/20 duplicates: a dropped job, its SUKET revoked;
- N/10 print-ready jobs without a blank nor a SUKET (the backlog), N/10 jobs holding a blank;
- 90 days of the office's daily snapshot, and its balance.

Then the later migrations run (whatever they compute from those rows, as in production) and
the app answers in-process through httpx's ASGI transport, one request at a time: `--requests`
forecasts and as many `/healthz` in each repeat, then as many of each of `OTHER_READS`. The figure is the median per request, the
median of the repeats; the ratio to `/healthz` is what the forecast costs beyond the HTTP
layer, and the ratio between sizes shows whether it grows with the SUKETs. Results also go to
`bench/results/forecast-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
from alembic import command

from jemput.inventory.adapters.tables import PrintJob, StockBalance, StockDay, Suket
from jemput.inventory.entrypoints.http.app import create_app
from jemput.inventory.settings import InventorySettings
from jemput.shared.db import create_engine, is_postgres
from jemput.shared.db.migrations import alembic_config
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate, migrations_dir

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 5_000
SEED_REVISION = "0007"
VALIDITY = timedelta(days=182)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 21)
# Timed beside the forecast: the cheapest read of the same database (one balance row), and
# pages of the SUKET lists, which must not grow with the SUKETs either.
OTHER_READS = (
    "/v1/stock-levels",
    "/v1/sukets?status=outstanding&page_size=50",
    "/v1/sukets?status=revoked&page_size=50",
)


def nik(serial: int) -> str:
    return f"16020545{serial:08d}"


def job_row(serial: int, **values: Any) -> dict[str, Any]:
    recorded = NOW - timedelta(days=1 + serial % 80, minutes=serial % 600)
    row = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"bench-job-{serial}")),
        "nik": nik(serial),
        "village_code": f"16.02.05.{1001 + serial % 40}",
        "recorded_at": recorded,
        "location": "office",
        "state": "OPEN",
        "has_blank": False,
        "print_ready": False,
        "card_serial": None,
        "printed_at": None,
        "issued_at": None,
    }
    return row | values


def suket_row(job: dict[str, Any], **values: Any) -> dict[str, Any]:
    recorded: datetime = job["recorded_at"]
    number = f"SUKET/{recorded:%Y%m%d}/{job['id'].replace('-', '')[:12].upper()}"
    row = {
        "number": number,
        "nik": job["nik"],
        "job_id": job["id"],
        "issued_at": recorded,
        "valid_until": recorded + VALIDITY,
        "cleared_at": None,
        "revoked_at": None,
    }
    return row | values


def rows(outstanding: int) -> Iterator[tuple[str, dict[str, Any]]]:
    serial = 0

    def next_serial() -> int:
        nonlocal serial
        serial += 1
        return serial

    for i in range(outstanding):
        job = job_row(next_serial(), print_ready=i % 2 == 0)
        yield "job", job
        yield "suket", suket_row(job)
    for _ in range(outstanding // 2):
        s = next_serial()
        job = job_row(s, state="ISSUED", print_ready=True, card_serial=f"KTP-{s:08d}")
        job["printed_at"] = job["issued_at"] = job["recorded_at"] + timedelta(days=30)
        yield "job", job
        yield "suket", suket_row(job, cleared_at=job["issued_at"])
    for _ in range(outstanding // 20):
        job = job_row(next_serial(), state="DROPPED")
        yield "job", job
        yield "suket", suket_row(job, revoked_at=job["recorded_at"] + timedelta(days=5))
    for _ in range(outstanding // 10):
        yield "job", job_row(next_serial(), print_ready=True)
    for _ in range(outstanding // 10):
        yield "job", job_row(next_serial(), has_blank=True, print_ready=True)


def stock_days(outstanding: int) -> list[dict[str, Any]]:
    reserved = outstanding // 10
    days = []
    for back in range(90, 0, -1):
        days.append(
            {
                "location": "office",
                "day": TODAY - timedelta(days=back),
                "on_hand": reserved,
                "reserved": reserved,
                "min_available": 0,
                "received": 0,
                "consumed": 40 + back % 7,
                "spoiled": back % 3,
                "sukets_issued": outstanding // 90,
                "suket_prints": 0,
            }
        )
    return days


async def fresh_database(url: str) -> None:
    if url.startswith("sqlite"):
        await asyncio.to_thread(Path(url.split(":///", 1)[-1]).unlink, missing_ok=True)
        return
    base, name = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    if url.startswith("sqlite"):
        await asyncio.to_thread(Path(url.split(":///", 1)[-1]).unlink, missing_ok=True)
        return
    base, name = url.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(url: str, outstanding: int) -> float:
    """Load the rows at revision 0007, then migrate to head. Returns the seconds taken."""
    started = time.perf_counter()
    config = alembic_config(migrations_dir("inventory"), url)
    await asyncio.to_thread(command.upgrade, config, SEED_REVISION)
    tables = {"job": PrintJob.__table__, "suket": Suket.__table__}  # type: ignore[attr-defined]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            chunks: dict[str, list[dict[str, Any]]] = {"job": [], "suket": []}
            # Jobs before their SUKETs, chunk by chunk.
            for kind, row in rows(outstanding):
                chunks[kind].append(row)
                if len(chunks["job"]) >= CHUNK:
                    for name in ("job", "suket"):
                        if chunks[name]:
                            await conn.execute(sa.insert(tables[name]), chunks[name])
                            chunks[name] = []
            for name in ("job", "suket"):
                if chunks[name]:
                    await conn.execute(sa.insert(tables[name]), chunks[name])
            await conn.execute(sa.insert(StockDay.__table__), stock_days(outstanding))  # type: ignore[attr-defined]
            await conn.execute(
                sa.insert(StockBalance.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "location": "office",
                        "on_hand": outstanding // 10,
                        "reserved": outstanding // 10,
                        "last_day": TODAY - timedelta(days=1),
                        "low_threshold": 100,
                    }
                ],
            )
        if is_postgres(engine):
            async with engine.connect() as conn:
                await conn.execute(sa.text("COMMIT"))
                await conn.execute(sa.text("ANALYZE"))
    finally:
        await engine.dispose()
    await migrate("inventory", url)
    return time.perf_counter() - started


async def per_request_ms(client: httpx.AsyncClient, path: str, requests: int) -> float:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text
    return statistics.median(timings)


async def measure(
    url: str, outstanding: int, repeat: int, requests: int, timeout_s: float
) -> dict[str, Any]:
    await fresh_database(url)
    seeded = await seed(url, outstanding)
    settings = InventorySettings(
        database_url=url,
        relay_enabled=False,
        consumer_enabled=False,
        rate_limit_per_minute=1_000_000,
        log_level="WARNING",  # a log line per request would be timed too
        kafka_bootstrap_servers=os.environ.get("JEMPUT_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    )
    result: dict[str, Any] = {"sukets_outstanding": outstanding, "seed_s": round(seeded, 1)}
    async with app_client(create_app, settings) as (client, _app):
        # The first forecast, timed alone: before indexes it may take minutes.
        started = time.perf_counter()
        try:
            first = await asyncio.wait_for(client.get("/v1/forecast"), timeout_s)
        except TimeoutError:
            result["first_forecast_ms"] = None
            result["timed_out_after_s"] = timeout_s
            return result
        result["first_forecast_ms"] = round((time.perf_counter() - started) * 1000, 1)
        body = first.json()
        assert first.status_code == 200, first.text
        result["answer"] = {
            key: body[key]
            for key in ("sukets_outstanding", "sukets_waiting_for_blank", "print_ready_backlog")
        }
        forecasts, healths = [], []
        others: dict[str, list[float]] = {path: [] for path in OTHER_READS}
        for _ in range(repeat):
            await per_request_ms(client, "/healthz", 5)  # warm
            healths.append(await per_request_ms(client, "/healthz", requests))
            forecasts.append(await per_request_ms(client, "/v1/forecast", requests))
            for path, timings in others.items():
                timings.append(await per_request_ms(client, path, requests))
    forecast_ms = statistics.median(forecasts)
    health_ms = statistics.median(healths)
    result |= {
        "forecast_ms": round(forecast_ms, 2),
        "healthz_ms": round(health_ms, 2),
        "ratio_to_healthz": round(forecast_ms / health_ms, 2),
        "forecast_repeats_ms": [round(t, 2) for t in forecasts],
        "healthz_repeats_ms": [round(t, 2) for t in healths],
        "other_reads_ms": {
            path: round(statistics.median(timings), 2) for path, timings in others.items()
        },
    }
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sukets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the first one")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/inventory.db"
        sizes = []
        for outstanding in args.sukets:
            found = await measure(url, outstanding, args.repeat, args.requests, args.timeout)
            print(json.dumps(found), flush=True)
            sizes.append(found)
        if not args.keep:
            await drop_database(url)
    report: dict[str, Any] = {
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": sizes,
    }
    timed = [s for s in sizes if s.get("forecast_ms")]
    if len(timed) >= 2:
        report["growth"] = round(timed[-1]["forecast_ms"] / timed[0]["forecast_ms"], 2)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (results / f"forecast-{report['database']}-{stamp}.json").write_text(
        json.dumps(report, indent=2)
    )
    print(json.dumps({k: v for k, v in report.items() if k != "sizes"}))


if __name__ == "__main__":
    asyncio.run(main())
