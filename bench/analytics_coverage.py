"""Analytics: the coverage query on the synthetic OKI register and on the whole nation, and how
fast events are applied (by the consumer's handlers, and by a rebuild from Kafka).

    ./jemput demo population --area 16.02               # var/demo/population-16.02.csv
    .venv/bin/python bench/analytics_coverage.py [--database-url ...] [--repeat 15] [--no-kafka]

Stages, each against a fresh, migrated analytics database (PostgreSQL by default):

1. **Regency.** The register file's 801,059 residents are loaded straight into the serving
   generation's `resident_g1` table with the projection's own rules (recorded unless
   BELUM_WAJIB or BELUM_REKAM, print-ready/printed/issued from the status, gone unless
   TINGGAL), each milestone given a day drawn from a fixed seed over the two years before
   today, so the aggregates hold the many dated rows of a real drive; then the aggregates are
   computed as a rebuild computes them (timed). Every tenth resident goes the same way into a
   second generation: the register at 1/10, for the flatness ratio. Timed on both:
   `GET /v1/coverage?area=16.02` (the 18 districts), the district 16.02.05 (its villages), the
   regency's coverage 90 days ago (totals less the changes since) and
   `GET /v1/progress?area=16.02`, as service calls and as HTTP requests to the service
   (in-process, one at a time) beside its own `GET /healthz`. Baseline: `SELECT count(*)` of
   the residents.
2. **Nation.** `--per-village` synthetic residents (default 10) in each of the 83,762 villages
   of the Kemendagri table go into a third generation, aggregates computed; timed: the
   national coverage (the 38 provinces) and the counts of every village (read per district).
   Baseline: `SELECT count(*)` of those residents.
3. **Event application.** `--events` register snapshots (taken from the file) and a recording
   for a third of them go through the analytics handlers in batches of 500, one transaction
   each, as the consumer applies them (without its inbox): once grouped by topic, as a
   consumer's batches come (runs of one partition), once in the worst order (each snapshot
   followed by its recording: every run one or two events long). Baseline: a plain INSERT of
   the same resident rows in the same batches.
4. **Rebuild** (unless `--no-kafka`): the same events published to a bench namespace on Kafka,
   then `rebuild()` from offset 0, as `jemput analytics rebuild` runs it (aggregates included).
   Baseline: a raw aiokafka consumer reading the same partitions from offset 0.

Medians of `--repeat` runs; results in `bench/results/analytics-coverage-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ReadModelTables, read_model_tables
from jemput.analytics.domain.forecast import Target
from jemput.analytics.domain.resident_facts import UNDATED
from jemput.analytics.entrypoints.http.app import create_app
from jemput.analytics.entrypoints.http.caching import Answers
from jemput.analytics.service_layer import aggregates, generations
from jemput.analytics.service_layer.coverage import AreaCounts, counts_by, coverage
from jemput.analytics.service_layer.progress import progress
from jemput.analytics.service_layer.projections import handlers
from jemput.analytics.service_layer.rebuild import consumed_topics, rebuild
from jemput.analytics.service_layer.targets import Targets
from jemput.analytics.settings import AnalyticsSettings
from jemput.analytics.testing import inbound, publish
from jemput.shared.db import create_engine, is_postgres
from jemput.shared.db.migrations import upgrade_to_head_async
from jemput.shared.events.base import EventPayload
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.logging import configure_logging
from jemput.shared.reference.areas import AreaLevel, load_area_table
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrations_dir
from jemput.shared.testing.kafka import delete_topics, reachable
from jemput.shared.timezone import today_in_office

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "var" / "demo" / "population-16.02.csv"
DEFAULT_PG = "postgresql+asyncpg://jemput:jemput@127.0.0.1:55432/jemput_bench_analytics"
# The service answers for today when no day is asked: the bench's day is today too.
AS_OF = today_in_office()
CHUNK = 5_000
BATCH = 500
NOT_RECORDED = {"BELUM_WAJIB", "BELUM_REKAM"}
PRINT_READY = {"PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED"}
PRINTED = {"CARD_PRINTED", "CARD_ISSUED"}


def _milestones(rng: random.Random, status: str) -> dict[str, date | None]:
    """Days for a register status: recorded within the two years before AS_OF, then
    print-ready, printed and issued a few weeks apart (never after AS_OF)."""
    days: dict[str, date | None] = dict.fromkeys(
        ("recorded_on", "print_ready_on", "printed_on", "issued_on")
    )
    if status in NOT_RECORDED:
        return days
    day = AS_OF - timedelta(days=rng.randrange(730))
    days["recorded_on"] = day
    for name, reached, gap in (
        ("print_ready_on", PRINT_READY, 30),
        ("printed_on", PRINTED, 60),
        ("issued_on", {"CARD_ISSUED"}, 30),
    ):
        if status not in reached:
            break
        day = min(day + timedelta(days=rng.randint(1, gap)), AS_OF)
        days[name] = day
    return days


def register_rows(path: Path, every: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(16_02)
    with path.open(encoding="utf-8", newline="") as stream:
        for n, row in enumerate(csv.DictReader(stream)):
            days = _milestones(rng, row["STAT_EKTP"])
            if n % every:
                continue
            village = row["KODE_DESA"]
            yield {
                "nik": row["NIK"],
                "village_code": village,
                "district_code": village[:8],
                "regency_code": village[:5],
                "birth_date": date.fromisoformat(row["TGL_LHR"]),
                "ever_married": row["STAT_KWN"] != "BELUM KAWIN",
                "left_on": None if row["STAT_DOMISILI"] in ("TINGGAL", "") else UNDATED,
                **days,
            }


def nation_rows(per_village: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    areas = load_area_table()
    serial = 0
    for province in areas.provinces():
        for village in areas.descendants(province.code, AreaLevel.VILLAGE):
            for _ in range(per_village):
                serial += 1
                recorded = rng.random() < 0.8
                yield {
                    "nik": f"{serial:016d}",
                    "village_code": village.code,
                    "district_code": village.code[:8],
                    "regency_code": village.code[:5],
                    "birth_date": date(rng.randint(1940, 2012), rng.randint(1, 12), 1),
                    "ever_married": rng.random() < 0.6,
                    "recorded_on": AS_OF - timedelta(days=rng.randrange(400)) if recorded else None,
                }


async def load(engine: AsyncEngine, table: sa.Table, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    chunk: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK:
                await conn.execute(table.insert(), chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            await conn.execute(table.insert(), chunk)
            count += len(chunk)
        if is_postgres(engine):
            await conn.execute(sa.text(f"ANALYZE {table.name}"))
    return count


async def median_ms(
    engine: AsyncEngine, repeat: int, work: Callable[[AsyncConnection], Awaitable[object]]
) -> dict[str, float]:
    timings = []
    async with engine.connect() as conn:
        await work(conn)  # warm: plans, caches, the area table
        for _ in range(repeat):
            started = time.perf_counter()
            await work(conn)
            timings.append((time.perf_counter() - started) * 1000)
            await conn.rollback()
    return {"median_ms": round(statistics.median(timings), 2), "max_ms": round(max(timings), 2)}


def count_all(table: sa.Table) -> Callable[[AsyncConnection], Awaitable[object]]:
    async def run(conn: AsyncConnection) -> object:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()

    return run


async def build_aggregates(engine: AsyncEngine, tables: ReadModelTables) -> float:
    """Seconds to compute a generation's aggregates from its residents (any left by the
    migration, computed over no residents, are dropped first)."""
    started = time.perf_counter()
    async with engine.begin() as conn:
        await aggregates.clear(conn, tables)
        await aggregates.build(conn, tables, AS_OF)
        if is_postgres(engine):
            for table in (tables.area_change, tables.area_total):
                await conn.execute(sa.text(f"ANALYZE {table.name}"))
    return round(time.perf_counter() - started, 1)


async def http_medians(
    database_url: str, bootstrap: str, repeat: int, paths: dict[str, str]
) -> dict[str, dict[str, float]]:
    """Median milliseconds of each GET, one request at a time, through the whole service app
    (auth, the shared layer, the routes) in-process, the serving generation as it is. A name
    ending in `_fresh` is asked with the kept answers forgotten first: what the first reader
    after an event pays."""
    settings = AnalyticsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        relay_enabled=False,
        consumer_enabled=False,
    )
    timings: dict[str, list[float]] = {name: [] for name in paths}
    async with app_client(create_app, settings, scopes="analytics:read") as (client, app):
        for path in paths.values():  # warm: plans, caches, the area table
            (await client.get(path)).raise_for_status()
        for _ in range(repeat):
            for name, path in paths.items():
                kept = app.state.answers
                if name.endswith("_fresh"):  # nothing kept for this request alone
                    app.state.answers = Answers()
                started = time.perf_counter()
                answer = await client.get(path)
                timings[name].append((time.perf_counter() - started) * 1000)
                app.state.answers = kept
                assert answer.status_code == 200, answer.text
    return {
        name: {"median_ms": round(statistics.median(t), 2), "max_ms": round(max(t), 2)}
        for name, t in timings.items()
    }


REGENCY_PATHS = {
    "healthz": "/healthz",
    "coverage_regency": "/v1/coverage?area=16.02",
    "coverage_regency_fresh": "/v1/coverage?area=16.02",
    "progress_regency": "/v1/progress?area=16.02",
    "progress_regency_fresh": "/v1/progress?area=16.02",
}


async def register_at(
    engine: AsyncEngine, tables: ReadModelTables, path: Path, every: int, repeat: int
) -> dict[str, Any]:
    started = time.perf_counter()
    loaded = await load(engine, tables.resident, register_rows(path, every))
    load_seconds = time.perf_counter() - started
    build_seconds = await build_aggregates(engine, tables)
    areas = load_area_table()
    regency, district = areas.get("16.02"), areas.get("16.02.05")
    assert regency is not None and district is not None
    targets = Targets({}, Target(0.95, date(AS_OF.year, 12, 31)))
    before = AS_OF - timedelta(days=90)

    async def regency_coverage(conn: AsyncConnection) -> object:
        return await coverage(conn, areas, regency, AS_OF, tables=tables)

    async def regency_coverage_before(conn: AsyncConnection) -> object:
        return await coverage(conn, areas, regency, before, tables=tables)

    async def district_coverage(conn: AsyncConnection) -> object:
        return await coverage(conn, areas, district, AS_OF, tables=tables)

    async def regency_progress(conn: AsyncConnection) -> object:
        return await progress(conn, areas, regency, AS_OF, targets, tables=tables)

    async with engine.connect() as conn:
        report = await coverage(conn, areas, regency, AS_OF, tables=tables)
        change_rows = (
            await conn.execute(sa.select(sa.func.count()).select_from(tables.area_change))
        ).scalar_one()
    return {
        "residents": loaded,
        "load_seconds": round(load_seconds, 1),
        "aggregates_build_seconds": build_seconds,
        "area_change_rows": change_rows,
        "eligible": report.total.eligible,
        "recorded": report.total.recorded,
        "coverage_regency": await median_ms(engine, repeat, regency_coverage),
        "coverage_regency_90_days_ago": await median_ms(engine, repeat, regency_coverage_before),
        "coverage_district": await median_ms(engine, repeat, district_coverage),
        "progress_regency": await median_ms(engine, repeat, regency_progress),
        "baseline_count": await median_ms(engine, repeat, count_all(tables.resident)),
    }


async def regency_stage(
    engine: AsyncEngine, database_url: str, bootstrap: str, path: Path, repeat: int
) -> dict[str, Any]:
    full = read_model_tables(1)  # the migration's, serving
    results = {"full": await register_at(engine, full, path, 1, repeat)}
    results["full"]["http"] = await http_medians(database_url, bootstrap, repeat, REGENCY_PATHS)
    async with engine.begin() as conn:
        tenth = await generations.start_generation(conn)
    results["tenth"] = await register_at(engine, tenth, path, 10, repeat)
    async with engine.begin() as conn:
        await generations.activate(conn, tenth.generation)
    results["tenth"]["http"] = await http_medians(database_url, bootstrap, repeat, REGENCY_PATHS)
    async with engine.begin() as conn:
        await generations.activate(conn, full.generation)
    return results


async def nation_stage(engine: AsyncEngine, per_village: int, repeat: int) -> dict[str, Any]:
    async with engine.begin() as conn:
        tables = await generations.start_generation(conn)
    loaded = await load(engine, tables.resident, nation_rows(per_village))
    build_seconds = await build_aggregates(engine, tables)
    areas = load_area_table()
    districts = [
        district.code
        for province in areas.provinces()
        for district in areas.descendants(province.code, AreaLevel.DISTRICT)
    ]
    villages = [
        village.code
        for province in areas.provinces()
        for village in areas.descendants(province.code, AreaLevel.VILLAGE)
    ]

    async def national(conn: AsyncConnection) -> object:
        counts = await counts_by(conn, tables, AS_OF, parents=[""])
        return sum(counts.values(), AreaCounts())

    async def every_village(conn: AsyncConnection) -> object:
        counts = await counts_by(conn, tables, AS_OF, parents=districts)
        return [(code, counts.get(code, AreaCounts())) for code in villages]

    async with engine.connect() as conn:
        total = await national(conn)
        assert isinstance(total, AreaCounts) and total.residents == loaded, (total, loaded)
    return {
        "villages": len(villages),
        "residents": loaded,
        "aggregates_build_seconds": build_seconds,
        "coverage_national": await median_ms(engine, repeat, national),
        "coverage_every_village": await median_ms(engine, repeat, every_village),
        "baseline_count": await median_ms(engine, repeat, count_all(tables.resident)),
    }


def sample_events(path: Path, count: int) -> list[tuple[EventPayload, datetime]]:
    """Register snapshots from the file and a recording for every third resident."""
    events: list[tuple[EventPayload, datetime]] = []
    moment = datetime(2026, 11, 1, 3, tzinfo=UTC)
    with path.open(encoding="utf-8", newline="") as stream:
        for n, row in enumerate(csv.DictReader(stream)):
            if len(events) >= count:
                break
            snapshot = ResidentRegisteredV1(
                nik=row["NIK"],
                village_code=row["KODE_DESA"],
                birth_date=date.fromisoformat(row["TGL_LHR"]),
                sex="L" if row["JENIS_KLMIN"] == "LAKI-LAKI" else "P",
                marital_status=row["STAT_KWN"].replace(" ", "_"),
                ektp_status=row["STAT_EKTP"],
            )
            events.append((snapshot, moment))
            if n % 3 == 0 and row["STAT_EKTP"] == "BELUM_REKAM" and len(events) < count:
                captured = moment + timedelta(days=n % 20)
                recording = RecordingCapturedV1(
                    recording_id=f"bench-{n}",
                    nik=row["NIK"],
                    session_id=f"session-{n % 50}",
                    team_id=f"team-{n % 10}",
                    kit_serial=f"kit-{n % 25}",
                    village_code=row["KODE_DESA"],
                    captured_at=captured,
                )
                events.append((recording, captured))
    return events


async def apply_rate(engine: AsyncEngine, events: list[tuple[EventPayload, datetime]]) -> int:
    """Events a second through the handlers into a fresh generation, in batches of 500."""
    async with engine.begin() as conn:
        tables = await generations.start_generation(conn)

    async def fixed(_conn: AsyncConnection) -> ReadModelTables:
        return tables

    registry = handlers(fixed)
    inbound_events = [inbound(p, at=at, offset=i) for i, (p, at) in enumerate(events)]
    started = time.perf_counter()
    for start in range(0, len(inbound_events), BATCH):
        async with AsyncSession(engine) as session, session.begin():
            await registry.apply(session, inbound_events[start : start + BATCH])
    return round(len(events) / (time.perf_counter() - started))


async def apply_stage(
    engine: AsyncEngine, events: list[tuple[EventPayload, datetime]]
) -> dict[str, Any]:
    # As a consumer gets them: a batch holds runs of one partition, so of one topic.
    per_topic = sorted(events, key=lambda timed: timed[0].producer)
    per_topic_rate = await apply_rate(engine, per_topic)
    # The worst order: each snapshot followed by its recording, one type after the other.
    interleaved_rate = await apply_rate(engine, events)
    async with engine.begin() as conn:
        scratch = await generations.start_generation(conn)
    rows = [
        {
            "nik": p.nik,
            "village_code": p.village_code,
            "district_code": p.village_code[:8],
            "regency_code": p.village_code[:5],
            "birth_date": p.birth_date,
            "ever_married": p.marital_status != "BELUM_KAWIN",
        }
        for p, _ in events
        if isinstance(p, ResidentRegisteredV1)
    ]
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        async with engine.begin() as conn:
            await conn.execute(scratch.resident.insert(), rows[start : start + BATCH])
    raw_seconds = time.perf_counter() - started
    return {
        "events": len(events),
        "events_per_second": per_topic_rate,
        "events_per_second_interleaved": interleaved_rate,
        "baseline_raw_insert_rows": len(rows),
        "baseline_rows_per_second": round(len(rows) / raw_seconds),
    }


async def rebuild_stage(
    engine: AsyncEngine,
    database_url: str,
    bootstrap: str,
    events: list[tuple[EventPayload, datetime]],
) -> dict[str, Any]:
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    settings = AnalyticsSettings(
        database_url=database_url, kafka_bootstrap_servers=bootstrap, kafka_namespace=namespace
    )
    try:
        await publish(bootstrap, namespace, events)
        result = await rebuild(engine, settings, grace_seconds=0)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p)
                for topic in consumed_topics(settings)
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            consumer.assign(partitions)
            started = time.perf_counter()
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            read = 0
            while read < sum(ends.values()):
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                read += sum(len(records) for records in batches.values())
            raw_seconds = time.perf_counter() - started
        finally:
            await consumer.stop()
    finally:
        await delete_topics(bootstrap, namespace)
    return {
        "records": result.records_read,
        "events_applied": result.events_applied,
        "seconds": round(result.seconds, 2),
        "events_per_second": round(result.events_per_second),
        "baseline_raw_consume_per_second": round(read / raw_seconds),
    }


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


async def main(args: argparse.Namespace) -> dict[str, Any]:
    if not args.file.exists():
        sys.exit(f"{args.file} is missing: run `./jemput demo population --area 16.02`")
    # As `jemput analytics serve` logs, but warnings only: a line per request on this terminal
    # is not what is measured (nor is it for /healthz, which logs at debug).
    configure_logging(level="WARNING", json=True)
    await fresh_database(args.database_url)
    await upgrade_to_head_async(migrations_dir("analytics"), args.database_url)
    engine = create_engine(args.database_url)
    results: dict[str, Any] = {
        "database": "postgresql" if args.database_url.startswith("postgresql") else "sqlite",
        "repeat": args.repeat,
        "started_at": datetime.now(UTC).isoformat(),
        "load_average": os.getloadavg(),
    }
    try:
        print("regency ...", flush=True)
        results["regency"] = await regency_stage(
            engine, args.database_url, args.bootstrap, args.file, args.repeat
        )
        print("nation ...", flush=True)
        results["nation"] = await nation_stage(engine, args.per_village, args.repeat)
        events = sample_events(args.file, args.events)
        print("event application ...", flush=True)
        results["apply"] = await apply_stage(engine, events)
        if not args.no_kafka and reachable(args.bootstrap):
            print("rebuild ...", flush=True)
            results["rebuild"] = await rebuild_stage(
                engine, args.database_url, args.bootstrap, events
            )
    finally:
        await engine.dispose()
    results["load_average_after"] = os.getloadavg()
    return results


def _ms(figure: dict[str, float]) -> str:
    return f"{figure['median_ms']:>9} ms"


def report(results: dict[str, Any]) -> str:
    r, n, a = results["regency"], results["nation"], results["apply"]
    full, tenth = r["full"], r["tenth"]
    lines = [f"database: {results['database']}, medians of {results['repeat']}"]
    for name, run in (("regency", full), ("regency at 1/10", tenth)):
        lines += [
            f"{name}: {run['residents']:,} residents, {run['eligible']:,} eligible, "
            f"{run['recorded']:,} recorded; aggregates built in {run['aggregates_build_seconds']} s "
            f"({run['area_change_rows']:,} dated rows)",
            f"  coverage 16.02 (18 districts)   {_ms(run['coverage_regency'])}",
            f"  coverage 16.02, 90 days ago     {_ms(run['coverage_regency_90_days_ago'])}",
            f"  coverage 16.02.05 (villages)    {_ms(run['coverage_district'])}",
            f"  progress 16.02 (dashboard)      {_ms(run['progress_regency'])}",
            f"  baseline SELECT count(*)        {_ms(run['baseline_count'])}",
            f"  HTTP GET /healthz               {_ms(run['http']['healthz'])}",
            f"  HTTP GET /v1/coverage           {_ms(run['http']['coverage_regency'])}",
            f"  ... first after an event        {_ms(run['http']['coverage_regency_fresh'])}",
            f"  HTTP GET /v1/progress           {_ms(run['http']['progress_regency'])}",
            f"  ... first after an event        {_ms(run['http']['progress_regency_fresh'])}",
        ]
    health = full["http"]["healthz"]["median_ms"]
    for name in REGENCY_PATHS:
        if name == "healthz":
            continue
        lines.append(
            f"  {name}: {full['http'][name]['median_ms'] / health:.2f}x /healthz, "
            f"{full['http'][name]['median_ms'] / tenth['http'][name]['median_ms']:.2f}x the 1/10 "
            "register"
        )
    lines += [
        f"nation: {n['villages']:,} villages, {n['residents']:,} residents; aggregates built in "
        f"{n['aggregates_build_seconds']} s",
        f"  national coverage (provinces)   {_ms(n['coverage_national'])}",
        f"  coverage of every village       {_ms(n['coverage_every_village'])}",
        f"  baseline SELECT count(*)        {_ms(n['baseline_count'])}",
        f"apply: {a['events']:,} events  {a['events_per_second']:>9,} events/s per topic, "
        f"{a['events_per_second_interleaved']:,} interleaved"
        f"  (baseline raw INSERT {a['baseline_rows_per_second']:,} rows/s)",
    ]
    if "rebuild" in results:
        b = results["rebuild"]
        lines.append(
            f"rebuild: {b['records']:,} records {b['events_per_second']:>9,} events/s"
            f"  (baseline raw consume {b['baseline_raw_consume_per_second']:,} records/s, "
            f"ratio {b['events_per_second'] / b['baseline_raw_consume_per_second']:.2f})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--database-url", default=os.environ.get("JEMPUT_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--per-village", type=int, default=10)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("JEMPUT_BENCH_KAFKA", "127.0.0.1:19092")
    )
    parser.add_argument("--no-kafka", action="store_true")
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments))
    print(report(outcome))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (out / f"analytics-coverage-{stamp}.json").write_text(json.dumps(outcome, indent=2))
