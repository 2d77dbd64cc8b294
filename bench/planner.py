"""The outreach planner on the synthetic OKI register: 327 villages, 10 teams, 20 working days.

    ./jemput demo population --area 16.02               # var/demo/population-16.02.csv
    .venv/bin/python bench/planner.py [--file ...] [--repeat 5] [--database-url postgresql+asyncpg://...]

The residents read model (`resident_view`) of a fresh, migrated outreach database is seeded
straight from the register file (no Kafka: the bench times the planner, not the consumer),
with the read model's own rules: eligible from the 17th birthday or from birth if ever
married, recorded unless BELUM_WAJIB or BELUM_REKAM, waiting only if alive and living in the
regency. Ten teams get 23 kits, two of them broken (21 working). Each repeat then times what
`GET /v1/plan` does — working calendar, teams, scheduled sessions, the grouped count of who is
waiting per village, the planner — and, apart, the grouped query and the planner alone. The
baseline, a round-robin over the villages in code order on the same team-days, is valued with
the same expectation; the plan must expect more. Default database: a SQLite file in a
temporary folder. Results go to `bench/results/planner-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import ResidentView, table_of
from jemput.outreach.domain.calendar import WorkingCalendar
from jemput.outreach.domain.model import KitCondition
from jemput.outreach.domain.planner import PlannerRules, TeamDays, plan, round_robin
from jemput.outreach.reference import load_holidays, load_travel_times
from jemput.outreach.service_layer import planning, teams
from jemput.outreach.service_layer.resident_view import village_demand
from jemput.shared.db import create_engine, is_postgres
from jemput.shared.db.migrations import upgrade_to_head_async
from jemput.shared.eligibility import eligible_from
from jemput.shared.testing.fixtures import migrations_dir

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "var" / "demo" / "population-16.02.csv"
START = date(2026, 12, 1)
WORKING_DAYS = 20
# Working kits per team; teams 1 and 4 also have a broken kit each.
TEAM_KITS = (3, 3, 3, 2, 2, 2, 2, 2, 1, 1)
BROKEN = {0: 1, 3: 1}
NOT_RECORDED = {"BELUM_WAJIB", "BELUM_REKAM"}
CHUNK = 10_000


def view_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The register file as `resident_view` rows."""
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            born = date.fromisoformat(row["TGL_LHR"])
            married = row["STAT_KWN"] != "BELUM KAWIN"
            domicile = row["STAT_DOMISILI"] or "TINGGAL"
            yield {
                "nik": row["NIK"],
                "village_code": row["KODE_DESA"],
                "birth_date": born,
                "ever_married": married,
                "eligible_from": eligible_from(birth_date=born, ever_married=married),
                "alive": domicile != "MATI",
                "domiciled": domicile == "TINGGAL",
                "recorded": row["STAT_EKTP"] not in NOT_RECORDED,
                "ektp_status": row["STAT_EKTP"] or "BELUM_REKAM",
                "disabled": row["PNYDNG_CCT"] == "Y",
                "chronically_ill": row["SAKIT_KRONIS"] == "Y",
                "mental_illness": row["ODGJ"] == "Y",
            }


async def seed_view(engine: AsyncEngine, path: Path) -> int:
    table = table_of(ResidentView)
    columns = [c.name for c in table.columns]
    count = 0
    chunk: list[dict[str, Any]] = []

    async def flush() -> None:
        async with engine.begin() as conn:
            if is_postgres(engine):
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                records = [tuple(r[c] for c in columns) for r in chunk]
                await driver.copy_records_to_table(table.name, records=records, columns=columns)
            else:
                await conn.execute(sa.insert(table), chunk)
        chunk.clear()

    for row in view_rows(path):
        chunk.append(row)
        count += 1
        if len(chunk) >= CHUNK:
            await flush()
    if chunk:
        await flush()
    return count


async def seed_teams(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        for index, working in enumerate(TEAM_KITS):
            spec = teams.TeamSpec(f"Tim {index + 1:02d}", ("ketua", "operator"), "16.02.05")
            team, _ = await teams.create_team(session, spec, regency_code="16.02")
            for kit in range(working + BROKEN.get(index, 0)):
                condition = KitCondition.WORKING if kit < working else KitCondition.BROKEN
                serial = f"OKI-{index + 1:02d}-{kit + 1}"
                await teams.create_kit(session, teams.KitSpec(serial, team.id, condition, None))


async def analyze(engine: AsyncEngine) -> None:
    """Statistics a production database would have after autovacuum."""
    if is_postgres(engine):
        raw = await asyncpg_connect(engine)
        try:
            await raw.execute("VACUUM ANALYZE resident_view")
        finally:
            await raw.close()
    else:
        async with engine.begin() as conn:
            await conn.execute(sa.text("ANALYZE"))


async def asyncpg_connect(engine: AsyncEngine) -> Any:
    import asyncpg

    url = engine.url.set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.database_url:
        return await run_on(args.database_url, args)
    with tempfile.TemporaryDirectory(prefix="jemput-planner-") as folder:
        return await run_on(f"sqlite+aiosqlite:///{folder}/outreach-bench.db", args)


async def run_on(url: str, args: argparse.Namespace) -> dict[str, Any]:
    await upgrade_to_head_async(migrations_dir("outreach"), url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            existing = (await conn.execute(sa.text("SELECT count(*) FROM resident_view"))).scalar()
        if existing:
            raise SystemExit("resident_view is not empty: give the bench a fresh database")
        started = time.perf_counter()
        residents = await seed_view(engine, args.file)
        await seed_teams(engine)
        await analyze(engine)
        seeded = time.perf_counter() - started
        print(f"seeded {residents:,} residents in {seeded:.1f} s", file=sys.stderr)
        return await measure(engine, args.repeat, residents, url)
    finally:
        await engine.dispose()


async def measure(engine: AsyncEngine, repeat: int, residents: int, url: str) -> dict[str, Any]:
    holidays = load_holidays()
    calendar = WorkingCalendar(holidays)
    days = calendar.working_days(START, date(START.year + 1, 3, 31))[:WORKING_DAYS]
    end = days[-1]
    rules = PlannerRules(
        per_kit_daily_rate=80,
        turnout=0.6,
        home_visits_per_day=8,
        travel=load_travel_times(None, "16.02"),
    )
    whole, query, planner = [], [], []
    result = None
    for _ in range(repeat):
        async with AsyncSession(engine) as session:
            started = time.perf_counter()
            result = await planning.propose(
                session, START, end, rules=rules, holidays=holidays, today=START
            )
            whole.append(time.perf_counter() - started)
        async with AsyncSession(engine) as session:
            started = time.perf_counter()
            demand = await village_demand(session, START, end)
            query.append(time.perf_counter() - started)
        team_days = [
            TeamDays(f"t{i}", tuple(f"k{i}-{k}" for k in range(n))) for i, n in enumerate(TEAM_KITS)
        ]
        started = time.perf_counter()
        plan(days, team_days, demand, rules)
        planner.append(time.perf_counter() - started)
    assert result is not None
    baseline = round_robin(days, team_days, demand, rules)
    expected = result.plan.expected_recordings
    if expected <= baseline.expected_recordings:
        raise SystemExit(
            f"the plan ({expected}) does not beat round-robin ({baseline.expected_recordings})"
        )
    return {
        "database": "postgresql" if is_postgres(engine) else "sqlite",
        "residents": residents,
        "villages": len(demand),
        "waiting": sum(v.waiting for v in demand),
        "teams": len(TEAM_KITS),
        "working_kits": sum(TEAM_KITS),
        "working_days": len(days),
        "from": START.isoformat(),
        "to": end.isoformat(),
        "sessions_proposed": len(result.plan.proposals),
        "expected_recordings": expected,
        "round_robin_expected_recordings": baseline.expected_recordings,
        "capacity": sum(TEAM_KITS) * 80 * len(days),
        "seconds": {
            "propose_median": statistics.median(whole),
            "propose_max": max(whole),
            "grouped_query_median": statistics.median(query),
            "planner_only_median": statistics.median(planner),
            "all_propose": whole,
        },
        "url": url.split("@")[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="a fresh database (default: SQLite)")
    args = parser.parse_args()
    if not args.file.exists():
        raise SystemExit(f"{args.file} missing: run `./jemput demo population --area 16.02`")
    report = asyncio.run(run(args))
    seconds = report["seconds"]
    print(
        f"{report['database']}: {report['villages']} villages, {report['teams']} teams, "
        f"{report['working_days']} working days; plan in {seconds['propose_median']:.3f} s "
        f"(median of {len(seconds['all_propose'])}; grouped query "
        f"{seconds['grouped_query_median']:.3f} s, planner {seconds['planner_only_median']:.3f} s)"
        f"\nexpected recordings: plan {report['expected_recordings']:,}, round-robin "
        f"{report['round_robin_expected_recordings']:,} (capacity {report['capacity']:,})"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = results / f"planner-{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
