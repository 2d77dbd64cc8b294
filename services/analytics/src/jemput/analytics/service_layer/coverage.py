"""Coverage = recorded ÷ eligible, with the card pipeline beside it, per child area of the area
asked about, as of a day. The counts come from the per-area aggregates (`aggregates`), which
hold the residents' dated changes, so any past or coming day can be asked about (a birthday
moves a resident into the denominator on the day) at the cost of the child areas' rows.

`counts_from_residents` counts the same from the residents' facts themselves: the definition
the aggregates are proven equal to (tests), and what `jemput analytics check` compares them with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.generations import active_tables
from jemput.shared.db import core_connection
from jemput.shared.eligibility import adult_cutoff
from jemput.shared.reference.areas import Area, AreaLevel, AreaTable
from jemput.shared.timezone import OFFICE_TIMEZONE


@dataclass(frozen=True, slots=True)
class AreaCounts:
    """Residents of an area as of a day (living in the regency unless said otherwise)."""

    residents: int = 0  # known to the register, living here, eligible or not
    eligible: int = 0
    recorded: int = 0
    print_ready: int = 0
    duplicates: int = 0  # flagged by the national de-duplication, not cleared since
    printed: int = 0
    issued: int = 0
    suket_outstanding: int = 0  # holding a SUKET, card not issued yet

    def __add__(self, other: AreaCounts) -> AreaCounts:
        return AreaCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(AreaCounts))
        )


COUNT_NAMES = tuple(f.name for f in fields(AreaCounts))


@dataclass(frozen=True, slots=True)
class AreaCoverage:
    area: Area
    counts: AreaCounts

    @property
    def eligible(self) -> int:
        return self.counts.eligible

    @property
    def recorded(self) -> int:
        return self.counts.recorded

    @property
    def coverage(self) -> float | None:
        return self.recorded / self.eligible if self.eligible else None

    @property
    def flags(self) -> list[str]:
        if self.counts.residents == 0:
            return ["no_denominator"]
        if self.eligible == 0:
            return ["zero_denominator"]
        if self.recorded > self.eligible:
            return ["above_100_percent"]
        return []


@dataclass(frozen=True, slots=True)
class CoverageReport:
    area: Area
    as_of: date
    total: AreaCoverage
    children: list[AreaCoverage]


def end_of_office_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(OFFICE_TIMEZONE))


def measures(tables: ReadModelTables, as_of: date) -> list[ColumnElement[Any]]:
    """One SUM per field of `AreaCounts`, in its order."""
    r = tables.resident.c
    known = r.birth_date.is_not(None)
    living = and_(known, or_(r.left_on.is_(None), r.left_on > as_of))
    conditions = {
        "residents": living,
        "eligible": and_(living, or_(r.ever_married, r.birth_date <= adult_cutoff(as_of))),
        "recorded": and_(living, r.recorded_on <= as_of),
        "print_ready": and_(living, r.print_ready_on <= as_of),
        "duplicates": and_(
            living,
            r.duplicate_at < end_of_office_day(as_of),
            or_(r.print_ready_at.is_(None), r.print_ready_at < r.duplicate_at),
        ),
        "printed": and_(living, r.printed_on <= as_of),
        "issued": and_(living, r.issued_on <= as_of),
        "suket_outstanding": and_(living, holds_suket(tables, as_of)),
    }
    return [func.sum(case((conditions[name], 1), else_=0)) for name in COUNT_NAMES]


def holds_suket(tables: ReadModelTables, as_of: date) -> ColumnElement[bool]:
    """A SUKET outstanding at the close of `as_of`, the definition of inventory's `/v1/sukets`:
    held from its day, until the card is issued or the SUKET revoked (a duplicate's), unless
    a SUKET was issued again after the revocation. Expiry does not end it."""
    r = tables.resident.c
    return and_(
        r.suket_on <= as_of,
        or_(r.issued_on.is_(None), r.issued_on > as_of),
        or_(
            r.suket_revoked_on.is_(None),
            r.suket_revoked_on > as_of,
            r.suket_at > r.suket_revoked_at,
        ),
    )


CHILD_GROUP = {
    AreaLevel.PROVINCE: "regency_code",
    AreaLevel.REGENCY: "district_code",
    AreaLevel.DISTRICT: "village_code",
    AreaLevel.VILLAGE: "village_code",
}


def within_area(tables: ReadModelTables, area: Area) -> ColumnElement[bool]:
    """The residents of an area."""
    r = tables.resident.c
    if area.level is AreaLevel.PROVINCE:
        return r.regency_code.startswith(area.code + ".")
    own = {
        AreaLevel.REGENCY: r.regency_code,
        AreaLevel.DISTRICT: r.district_code,
        AreaLevel.VILLAGE: r.village_code,
    }[area.level]
    return own == area.code


def scope(area: Area) -> dict[str, list[str]]:
    """What `counts_by` reads for an area: the counts of its children, or a village's own."""
    if area.level is AreaLevel.VILLAGE:
        return {"codes": [area.code]}
    return {"parents": [area.code]}


async def counts_by(
    conn: AsyncConnection,
    tables: ReadModelTables,
    as_of: date,
    *,
    parents: Sequence[str] = (),
    codes: Sequence[str] = (),
    rolled: date | None = None,
) -> dict[str, AreaCounts]:
    """Counts per child area of `parents` and per area of `codes`, from the aggregates
    (`rolled`: their roll day, when the caller has read it)."""
    found = await aggregates.counts(
        conn, tables, as_of, parents=parents, codes=codes, rolled=rolled
    )
    return {
        code: AreaCounts(*(measures[name] for name in COUNT_NAMES))
        for code, measures in found.items()
    }


async def counts_from_residents(
    conn: AsyncConnection,
    tables: ReadModelTables,
    as_of: date,
    *,
    group: str,
    within: Area | None = None,
) -> dict[str, AreaCounts]:
    """Counts per code of `group` (`regency_code`, `district_code` or `village_code`), for the
    residents of `within` (all residents without it), read from every resident's facts."""
    column = tables.resident.c[group]
    query = select(column, *measures(tables, as_of)).group_by(column)
    if within is not None:
        query = query.where(within_area(tables, within))
    result = await conn.execute(query)
    return {
        code: AreaCounts(*(int(v or 0) for v in values))
        for code, *values in result.all()
        if code is not None
    }


async def coverage(
    session: AsyncSession | AsyncConnection,
    areas: AreaTable,
    area: Area,
    as_of: date,
    *,
    tables: ReadModelTables | None = None,
    rolled: date | None = None,
) -> CoverageReport:
    conn = await core_connection(session)
    tables = tables or await active_tables(conn)
    counts = await counts_by(conn, tables, as_of, **scope(area), rolled=rolled)
    # A village has no child areas: its own residents are its total.
    children = [
        AreaCoverage(child, counts.get(child.code, AreaCounts()))
        for child in areas.children(area.code)
    ]
    total = AreaCoverage(
        area,
        counts.get(area.code, AreaCounts())
        if area.level is AreaLevel.VILLAGE
        else sum((c.counts for c in children), AreaCounts()),
    )
    return CoverageReport(area=area, as_of=as_of, total=total, children=children)
