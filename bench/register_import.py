"""Import of the whole synthetic OKI register into PostgreSQL, beside PostgreSQL's own COPY.

    .venv/bin/python bench/register_import.py [--file var/demo/population-16.02.csv] [--repeat 3]

Each repeat imports into a fresh, migrated database with `jemput residents import`'s code path
(validation, digests, status history, one `resident_registered.v1` outbox row per resident),
then COPYs the same file into a plain table of the same 16 columns: the ratio is the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
from rich.console import Console
from rich.table import Table

from jemput.residents.service_layer import importing
from jemput.residents.service_layer.register_file import COLUMNS, count_rows
from jemput.shared.db import create_engine
from jemput.shared.db.migrations import upgrade_to_head_async
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.testing.fixtures import migrations_dir

ROOT = Path(__file__).resolve().parents[1]


async def fresh_database(base_dsn: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(base_dsn + "postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, base_dsn + name


async def drop_database(base_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(base_dsn + "postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def jemput_import(base_dsn: str, path: Path) -> float:
    name, dsn = await fresh_database(base_dsn)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        await upgrade_to_head_async(migrations_dir("residents"), url)
        engine = create_engine(url)
        outbox = Outbox(source="/jemput/residents", topic_for=lambda s: f"jemput.{s}.v1")
        await importing.create_job(engine, "bench", path.name, "csv")
        started = time.perf_counter()
        counts = await importing.run_import(
            engine,
            outbox,
            job_id="bench",
            path=path,
            file_format="csv",
            regency_code="16.02",
            today=date(2026, 11, 28),
            actor="bench",
        )
        elapsed = time.perf_counter() - started
        async with engine.connect() as conn:
            from sqlalchemy import text

            outbox_rows = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
        await engine.dispose()
        assert counts.created == outbox_rows, (counts.created, outbox_rows)
        return elapsed
    finally:
        await drop_database(base_dsn, name)


async def raw_copy(base_dsn: str, path: Path) -> float:
    name, dsn = await fresh_database(base_dsn)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            columns = ", ".join(f'"{c.lower()}" text' for c in COLUMNS)
            await conn.execute(f"CREATE TABLE register_raw ({columns})")
            started = time.perf_counter()
            await conn.copy_to_table("register_raw", source=str(path), format="csv", header=True)
            return time.perf_counter() - started
        finally:
            await conn.close()
    finally:
        await drop_database(base_dsn, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=ROOT / "var/demo/population-16.02.csv")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "JEMPUT_BENCH_PG_DSN", "postgresql://jemput:jemput@127.0.0.1:55432/"
        ),
    )
    args = parser.parse_args()
    if not args.file.exists():
        print(f"Generating {args.file} ...")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jemput.shared.cli",
                "demo",
                "population",
                "--area",
                "16.02",
                "--out",
                str(args.file),
            ],
            check=True,
        )
    return asyncio.run(measure(args))


async def measure(args: argparse.Namespace) -> int:
    console = Console()
    rows = count_rows(args.file, "csv")
    jemput_times, copy_times = [], []
    for attempt in range(1, args.repeat + 1):
        copy_times.append(await raw_copy(args.pg, args.file))
        jemput_times.append(await jemput_import(args.pg, args.file))
        console.print(
            f"repeat {attempt}: import {jemput_times[-1]:.1f} s, COPY {copy_times[-1]:.2f} s"
        )
    jemput_median, copy_median = statistics.median(jemput_times), statistics.median(copy_times)
    table = Table(title=f"Register import, {rows:,} rows, median of {args.repeat}")
    for column in ("path", "seconds", "rows/s", "ratio to COPY"):
        table.add_column(column)
    table.add_row(
        "PostgreSQL COPY (baseline)", f"{copy_median:.2f}", f"{rows / copy_median:,.0f}", "1.00"
    )
    table.add_row(
        "jemput residents import (+ history, + outbox events)",
        f"{jemput_median:.1f}",
        f"{rows / jemput_median:,.0f}",
        f"{copy_median / jemput_median:.3f}",
    )
    console.print(table)
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"register_import-{stamp}.json").write_text(
        json.dumps(
            {"rows": rows, "import_seconds": jemput_times, "copy_seconds": copy_times}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
