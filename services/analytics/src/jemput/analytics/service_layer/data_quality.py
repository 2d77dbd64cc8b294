"""Checks of the denominators: areas with no residents at all, with no eligible residents,
with more recorded than eligible; a district whose own total differs from the sum of its
villages (residents whose village is not in the Kemendagri table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.service_layer.coverage import AreaCounts, counts_by
from jemput.analytics.service_layer.generations import active_tables
from jemput.shared.reference.areas import Area, AreaLevel, AreaTable

NO_DENOMINATOR = "no_denominator"
ZERO_DENOMINATOR = "zero_denominator"
ABOVE_100_PERCENT = "above_100_percent"
DISTRICT_TOTAL_DIFFERS = "district_total_differs"
UNKNOWN_VILLAGE = "unknown_village"


@dataclass(frozen=True, slots=True)
class Issue:
    code: str
    name: str
    level: str
    issue: str
    eligible: int
    recorded: int
    detail: str


def _denominator_issue(area: Area, counts: AreaCounts | None) -> Issue | None:
    counts = counts or AreaCounts()
    level = str(area.level)
    if counts.residents == 0:
        return Issue(
            area.code,
            area.name,
            level,
            NO_DENOMINATOR,
            0,
            counts.recorded,
            "no resident of this area is in the register's events",
        )
    if counts.eligible == 0:
        return Issue(
            area.code,
            area.name,
            level,
            ZERO_DENOMINATOR,
            0,
            counts.recorded,
            f"{counts.residents} residents, none eligible",
        )
    if counts.recorded > counts.eligible:
        return Issue(
            area.code,
            area.name,
            level,
            ABOVE_100_PERCENT,
            counts.eligible,
            counts.recorded,
            f"coverage {counts.recorded / counts.eligible:.1%}",
        )
    return None


async def check(
    conn: AsyncConnection,
    areas: AreaTable,
    area: Area,
    as_of: date,
    *,
    tables: ReadModelTables | None = None,
) -> list[Issue]:
    """The issues of `area` (a regency or a district) and the areas under it."""
    if area.level not in (AreaLevel.REGENCY, AreaLevel.DISTRICT):
        raise ValueError("data quality is checked for a regency or a district")
    tables = tables or await active_tables(conn)
    districts = [area] if area.level is AreaLevel.DISTRICT else areas.children(area.code)
    by_village = await counts_by(conn, tables, as_of, parents=[d.code for d in districts])
    by_district = await counts_by(conn, tables, as_of, codes=[d.code for d in districts])
    issues: list[Issue] = []
    for district in districts:
        villages = areas.children(district.code)
        found = _denominator_issue(district, by_district.get(district.code))
        if found:
            issues.append(found)
        for village in villages:
            found = _denominator_issue(village, by_village.get(village.code))
            if found:
                issues.append(found)
        own = by_district.get(district.code, AreaCounts())
        summed = sum((by_village.get(v.code, AreaCounts()) for v in villages), AreaCounts())
        if (own.eligible, own.recorded) != (summed.eligible, summed.recorded):
            issues.append(
                Issue(
                    district.code,
                    district.name,
                    str(district.level),
                    DISTRICT_TOTAL_DIFFERS,
                    own.eligible,
                    own.recorded,
                    f"villages sum to {summed.eligible} eligible, {summed.recorded} recorded",
                )
            )
    for code, counts in sorted(by_village.items()):
        if code not in areas:
            issues.append(
                Issue(
                    code,
                    "",
                    "village",
                    UNKNOWN_VILLAGE,
                    counts.eligible,
                    counts.recorded,
                    "village code not in the Kemendagri table",
                )
            )
    return issues
