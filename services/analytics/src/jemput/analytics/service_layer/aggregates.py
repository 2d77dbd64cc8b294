"""Per-area aggregates: the residents' dated changes (`domain.area_changes`) summed per area and
day at every level, and their running totals up to a roll day, so that a read costs what its
answer costs: the rows of the children of one area, not its residents.

- `area_change`: per (area, day) the sum of the changes dated that day, for ever (a birthday
  years away is there already).
- `area_total`: per area the changes up to the generation's `rolled_to`: the counts as of that
  day. A read as of day D adds the changes in (rolled_to, D], or takes away those in
  (D, rolled_to]; the projections roll the totals forward to the office's today, so a read for
  today adds a day or two at most.

The projections add `difference(old facts, new facts)` in the transaction that changes the
facts, as the generation's only writer (`generations.lock_for_writing`). A generation whose
aggregates are not built yet (`rolled_to` empty: a rebuild replaying into it) is left
alone; `build` computes them from the residents' facts in one pass.

How far the aggregates are (`rolled_to`, `version`, `changed_at`) is kept in the generation's
row of `read_model_generation`, so that a read learns the serving generation and its position
in one indexed row read.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ReadModelTables, read_model_tables
from jemput.analytics.domain.area_changes import ALL_MEASURES, ChangeKey, by_area, changes
from jemput.analytics.domain.resident_facts import UNDATED, ResidentFacts
from jemput.analytics.service_layer.generations import (
    ACTIVE,
    NoActiveGeneration,
    registry_table,
)
from jemput.shared.db import core_connection, dialect_insert

# Residents read per page while building.
BUILD_PAGE = 20_000


_FACT_FIELDS = tuple(f.name for f in fields(ResidentFacts))


def facts_of(row: dict[str, Any]) -> ResidentFacts:
    """A resident row of the read model as the facts it holds."""
    return ResidentFacts(**{name: row[name] for name in _FACT_FIELDS})


class AggregatesNotBuilt(RuntimeError):
    """The generation's aggregates were never computed (a rebuild's, before it switches)."""


async def rolled_to(conn: AsyncConnection, tables: ReadModelTables) -> date | None:
    registry = registry_table().c
    found = await conn.execute(
        select(registry.rolled_to).where(registry.generation == tables.generation)
    )
    value: date | None = found.scalar_one_or_none()
    return value


async def _set_state(conn: AsyncConnection, tables: ReadModelTables, **values: Any) -> None:
    registry = registry_table()
    await conn.execute(
        registry.update().where(registry.c.generation == tables.generation).values(**values)
    )


async def clear(conn: AsyncConnection, tables: ReadModelTables) -> None:
    """Forget a generation's aggregates (to build them again)."""
    for table in (tables.area_change, tables.area_total):
        await conn.execute(table.delete())
    await _set_state(conn, tables, rolled_to=None, version=0, changed_at=None)


def accumulate_statement(
    conn: AsyncConnection | Connection, table: Table, key: Sequence[str]
) -> Any:
    """An INSERT that adds its rows' measures to the stored ones (a missing row is inserted).
    Run with many parameter sets; keys unique among them (PostgreSQL sends them as multi-row
    INSERTs, which may not touch a row twice). Sync connections too: migration 0006."""
    statement = dialect_insert(conn, table)
    return statement.on_conflict_do_update(
        index_elements=list(key),
        set_={m: table.c[m] + statement.excluded[m] for m in ALL_MEASURES},
    )


def _unnest_statement(conn: AsyncConnection, table: Table, key: Sequence[str]) -> Any:
    """`accumulate_statement` for PostgreSQL with one array per column: one statement and one
    round trip for any number of rows, the arrays encoded by the driver. A rebuild's build
    spent most of its time making multi-row INSERTs' parameters before this."""
    names = [c.name for c in table.columns]
    casts = ", ".join(
        f"CAST(:{n} AS {table.c[n].type.compile(dialect=conn.dialect)}[])" for n in names
    )
    updates = ", ".join(f"{m} = {table.name}.{m} + excluded.{m}" for m in ALL_MEASURES)
    return text(
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({casts}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )


async def _accumulate(
    conn: AsyncConnection, table: Table, key: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        columns = {c.name: [row[c.name] for row in rows] for c in table.columns}
        await conn.execute(_unnest_statement(conn, table, key), columns)
        return
    await conn.execute(accumulate_statement(conn, table, key), list(rows))


def rows_of(
    facts: Iterable[ResidentFacts], up_to: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `area_change` and `area_total` rows (totals as of `up_to`) that these residents'
    changes add."""
    delta: Counter[ChangeKey] = Counter()
    for one in facts:
        delta.update(changes(one))
    rows = by_area(delta)
    return _change_rows(rows), _totals(rows, up_to)


def _change_rows(rows: dict[tuple[str, str, date], dict[str, int]]) -> list[dict[str, Any]]:
    return [{"area_code": c, "parent_code": p, "day": d, **m} for (c, p, d), m in rows.items()]


def _totals(rows: dict[tuple[str, str, date], dict[str, int]], up_to: date) -> list[dict[str, Any]]:
    summed: dict[tuple[str, str], dict[str, int]] = {}
    for (code, parent, day), measures in rows.items():
        if day > up_to:
            continue
        total = summed.setdefault((code, parent), dict.fromkeys(ALL_MEASURES, 0))
        for m, n in measures.items():
            total[m] += n
    return [{"area_code": c, "parent_code": p, **m} for (c, p), m in summed.items()]


async def add(
    conn: AsyncConnection, tables: ReadModelTables, delta: Counter[ChangeKey], today: date
) -> None:
    """Add the residents' changes; first roll the totals forward to `today`."""
    rolled = await rolled_to(conn, tables)
    if rolled is None:
        return
    if today > rolled:
        await _roll(conn, tables, rolled, today)
        rolled = today
    if not delta:
        return
    rows = by_area(delta)
    await _accumulate(conn, tables.area_change, ("area_code", "day"), _change_rows(rows))
    await _accumulate(conn, tables.area_total, ("area_code",), _totals(rows, rolled))
    version = registry_table().c.version
    await _set_state(conn, tables, version=version + 1, changed_at=datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Position:
    """How far the serving aggregates are: what an answer made of them depends on."""

    generation: int
    version: int
    changed_at: datetime | None
    rolled_to: date


async def position(db: AsyncSession | AsyncConnection) -> Position:
    """The serving generation and its position, from one row (no aggregate is read)."""
    conn = await core_connection(db)
    registry = registry_table().c
    found = (
        await conn.execute(
            select(
                registry.generation, registry.version, registry.changed_at, registry.rolled_to
            ).where(registry.state == ACTIVE)
        )
    ).one_or_none()
    if found is None:
        raise NoActiveGeneration("no active read-model generation: run the migrations")
    if found.rolled_to is None:
        raise AggregatesNotBuilt(f"generation {found.generation} has no aggregates yet")
    return Position(int(found.generation), int(found.version), found.changed_at, found.rolled_to)


async def _roll(conn: AsyncConnection, tables: ReadModelTables, rolled: date, to: date) -> None:
    """Totals as of `to`: add the changes dated in (rolled, to], set-based."""
    c, total = tables.area_change.c, tables.area_total
    summed = (
        select(c.area_code, c.parent_code, *(func.sum(c[m]) for m in ALL_MEASURES))
        .where(c.day > rolled, c.day <= to)
        .group_by(c.area_code, c.parent_code)
    )
    statement = dialect_insert(conn, total).from_select(
        ["area_code", "parent_code", *ALL_MEASURES], summed
    )
    statement = statement.on_conflict_do_update(
        index_elements=["area_code"],
        set_={m: total.c[m] + statement.excluded[m] for m in ALL_MEASURES},
    )
    await conn.execute(statement)
    await _set_state(conn, tables, rolled_to=to)


def _scope(table: Table, *, parents: Sequence[str] = (), codes: Sequence[str] = ()) -> Any:
    """The rows of the children of `parents` and of the areas `codes` themselves."""
    c = table.c
    conditions = []
    if parents:
        conditions.append(c.parent_code.in_(list(parents)))
    if codes:
        conditions.append(c.area_code.in_(list(codes)))
    if not conditions:
        raise ValueError("no area asked about")
    return conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]


async def _rolled(conn: AsyncConnection, tables: ReadModelTables, rolled: date | None) -> date:
    """The roll day the caller read already (`Position.rolled_to`), or read now."""
    found = rolled or await rolled_to(conn, tables)
    if found is None:
        raise AggregatesNotBuilt(f"generation {tables.generation} has no aggregates yet")
    return found


@functools.cache
def _totals_query(generation: int, by_parent: bool, by_code: bool) -> Any:
    """Built once per shape: on the hottest read (coverage today) making the expression cost
    more than running it. The areas are expanding parameters."""
    total = read_model_tables(generation).area_total
    c = total.c
    conditions = []
    if by_parent:
        conditions.append(c.parent_code.in_(bindparam("parents", expanding=True)))
    if by_code:
        conditions.append(c.area_code.in_(bindparam("codes", expanding=True)))
    if not conditions:
        raise ValueError("no area asked about")
    scope = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    return select(c.area_code, *(c[m] for m in ALL_MEASURES)).where(scope)


async def _totals_of(
    conn: AsyncConnection, tables: ReadModelTables, parents: Sequence[str], codes: Sequence[str]
) -> dict[str, dict[str, int]]:
    query = _totals_query(tables.generation, bool(parents), bool(codes))
    values: dict[str, list[str]] = {}
    if parents:
        values["parents"] = list(parents)
    if codes:
        values["codes"] = list(codes)
    return {
        code: dict(zip(ALL_MEASURES, (int(v) for v in measures), strict=True))
        for code, *measures in await conn.execute(query, values)
    }


async def counts(
    conn: AsyncConnection,
    tables: ReadModelTables,
    as_of: date,
    *,
    parents: Sequence[str] = (),
    codes: Sequence[str] = (),
    rolled: date | None = None,
) -> dict[str, dict[str, int]]:
    """Every measure as of the close of `as_of`, per child area of `parents` and per area of
    `codes`: their totals, plus or minus the changes between the roll day and `as_of`."""
    rolled = await _rolled(conn, tables, rolled)
    found = await _totals_of(conn, tables, parents, codes)
    if as_of == rolled:
        return found
    change = tables.area_change
    c = change.c
    first, last, sign = (rolled, as_of, 1) if as_of > rolled else (as_of, rolled, -1)
    between = (
        select(c.area_code, *(func.sum(c[m]) for m in ALL_MEASURES))
        .where(_scope(change, parents=parents, codes=codes), c.day > first, c.day <= last)
        .group_by(c.area_code)
    )
    for code, *values in await conn.execute(between):
        row = found.setdefault(code, dict.fromkeys(ALL_MEASURES, 0))
        for m, v in zip(ALL_MEASURES, values, strict=True):
            row[m] += sign * int(v or 0)
    return found


async def counts_on(
    conn: AsyncConnection,
    tables: ReadModelTables,
    days: Sequence[date],
    *,
    parents: Sequence[str] = (),
    codes: Sequence[str] = (),
    rolled: date | None = None,
) -> dict[date, dict[str, dict[str, int]]]:
    """`counts` as of each of `days`, in two statements however many days: the totals, and
    per area the sums of the changes between the roll day and each day (a column per day and
    measure), so that what comes back is a row per area, whatever the days between."""
    rolled = await _rolled(conn, tables, rolled)
    base = await _totals_of(conn, tables, parents, codes)
    found = {day: {code: dict(row) for code, row in base.items()} for day in days}
    others = sorted({day for day in days if day != rolled})
    if not others:
        return found
    c = tables.area_change.c
    signs, columns = [], []
    for day in others:
        low, high, sign = (rolled, day, 1) if day > rolled else (day, rolled, -1)
        signs.append(sign)
        within = and_(c.day > low, c.day <= high)
        columns += [func.sum(case((within, c[m]), else_=0)) for m in ALL_MEASURES]
    query = (
        select(c.area_code, *columns)
        .where(
            _scope(tables.area_change, parents=parents, codes=codes),
            c.day > min(others[0], rolled),
            c.day <= max(others[-1], rolled),
        )
        .group_by(c.area_code)
    )
    width = len(ALL_MEASURES)
    for code, *values in await conn.execute(query):
        for i, (day, sign) in enumerate(zip(others, signs, strict=True)):
            row = found[day].setdefault(code, dict.fromkeys(ALL_MEASURES, 0))
            for m, v in zip(ALL_MEASURES, values[i * width : (i + 1) * width], strict=True):
                row[m] += sign * int(v or 0)
    return found


async def sums(
    conn: AsyncConnection,
    tables: ReadModelTables,
    measure: str,
    spans: Sequence[tuple[date, date]],
    *,
    parents: Sequence[str] = (),
    codes: Sequence[str] = (),
) -> dict[str, list[int]]:
    """Per area, the changes of one measure summed over each [first, last] of `spans` (for
    `recorded_day`: the residents recorded in it), in one statement: a row per area."""
    c = tables.area_change.c
    columns = [
        func.sum(case((and_(c.day >= first, c.day <= last), c[measure]), else_=0))
        for first, last in spans
    ]
    query = (
        select(c.area_code, *columns)
        .where(
            _scope(tables.area_change, parents=parents, codes=codes),
            c.day >= min(first for first, _ in spans),
            c.day <= max(last for _, last in spans),
            c[measure] != 0,
        )
        .group_by(c.area_code)
    )
    return {code: [int(v or 0) for v in values] for code, *values in await conn.execute(query)}


async def daily(
    conn: AsyncConnection,
    tables: ReadModelTables,
    measure: str,
    first: date,
    last: date,
    *,
    parents: Sequence[str] = (),
    codes: Sequence[str] = (),
) -> dict[str, dict[date, int]]:
    """The changes of one measure on each day in [first, last] (the days with any), per area:
    for the once-counted measures (`recorded_day`, `suket_day`), how many happened that day."""
    c = tables.area_change.c
    query = select(c.area_code, c.day, c[measure]).where(
        _scope(tables.area_change, parents=parents, codes=codes),
        c.day >= first,
        c.day <= last,
        c[measure] != 0,
    )
    found: dict[str, dict[date, int]] = {}
    for code, day, n in await conn.execute(query):
        found.setdefault(code, {})[day] = int(n)
    return found


async def first_day(
    conn: AsyncConnection, tables: ReadModelTables, measure: str, code: str
) -> date | None:
    """The first day known (not UNDATED) on which `measure` of the area changed."""
    c = tables.area_change.c
    first = (
        await conn.execute(
            select(func.min(c.day)).where(c.area_code == code, c.day > UNDATED, c[measure] != 0)
        )
    ).scalar()
    if first is None:
        return None
    # SQLite hands back MIN() of a DATE column as text.
    return first if isinstance(first, date) else date.fromisoformat(first)


async def build(conn: AsyncConnection, tables: ReadModelTables, today: date) -> None:
    """Compute the aggregates of a generation that has none from its residents' facts, with
    totals as of `today`: residents read a page at a time (by NIK), each page's changes added
    in one statement per table."""
    if await rolled_to(conn, tables) is not None:
        raise ValueError(f"generation {tables.generation} has its aggregates already")
    r = tables.resident.c
    after = ""
    while True:
        page = (
            (
                await conn.execute(
                    select(tables.resident)
                    .where(r.nik > after, r.village_code.is_not(None))
                    .order_by(r.nik)
                    .limit(BUILD_PAGE)
                )
            )
            .mappings()
            .all()
        )
        if not page:
            break
        change_rows, total_rows = rows_of((facts_of(dict(row)) for row in page), today)
        await _accumulate(conn, tables.area_change, ("area_code", "day"), change_rows)
        await _accumulate(conn, tables.area_total, ("area_code",), total_rows)
        after = page[-1]["nik"]
    await _set_state(conn, tables, rolled_to=today, version=0, changed_at=datetime.now(UTC))
