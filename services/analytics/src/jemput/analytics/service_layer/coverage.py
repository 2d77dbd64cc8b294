"""Coverage = recorded ÷ eligible, per child area of the area asked about, as of a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Table, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ResidentFact
from jemput.shared.eligibility import adult_cutoff
from jemput.shared.reference.areas import Area, AreaLevel, AreaTable


@dataclass(frozen=True, slots=True)
class AreaCoverage:
    area: Area
    eligible: int
    recorded: int

    @property
    def coverage(self) -> float | None:
        return self.recorded / self.eligible if self.eligible else None

    @property
    def flags(self) -> list[str]:
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


def _facts() -> Table:
    table: Table = ResidentFact.__table__  # type: ignore[attr-defined]
    return table


async def coverage(
    session: AsyncSession, areas: AreaTable, area: Area, as_of: date
) -> CoverageReport:
    facts = _facts().c
    # Which fact column holds the code of the child areas, and which one the area's own code.
    child_column = {
        AreaLevel.PROVINCE: facts.regency_code,
        AreaLevel.REGENCY: facts.district_code,
        AreaLevel.DISTRICT: facts.village_code,
        AreaLevel.VILLAGE: facts.village_code,
    }[area.level]
    living = facts.alive & facts.domiciled
    eligible = living & (facts.ever_married | (facts.birth_date <= adult_cutoff(as_of)))
    query = select(
        child_column,
        func.sum(case((eligible, 1), else_=0)),
        func.sum(case((living & facts.recorded, 1), else_=0)),
    ).group_by(child_column)
    if area.level is AreaLevel.PROVINCE:
        query = query.where(facts.regency_code.startswith(area.code + "."))
    else:
        own_column = {
            AreaLevel.REGENCY: facts.regency_code,
            AreaLevel.DISTRICT: facts.district_code,
            AreaLevel.VILLAGE: facts.village_code,
        }[area.level]
        query = query.where(own_column == area.code)
    counts = {
        code: (int(e or 0), int(r or 0))
        for code, e, r in (await (await session.connection()).execute(query)).all()
    }
    children_areas = [area] if area.level is AreaLevel.VILLAGE else areas.children(area.code)
    children = [AreaCoverage(child, *counts.get(child.code, (0, 0))) for child in children_areas]
    total = AreaCoverage(area, sum(c.eligible for c in children), sum(c.recorded for c in children))
    return CoverageReport(area=area, as_of=as_of, total=total, children=children)
