"""The areas at risk of missing their target, two levels down: the child areas of the area
asked about (a regency's districts) and their child areas (the districts' villages), each list
lacking the most first. Built on `progress.progress`, so each area's figures are the ones
`/v1/progress` gives it, and "at risk" means what it means there (missed at the 14-day pace).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.generations import active_tables
from jemput.analytics.service_layer.progress import AreaProgress, progress
from jemput.analytics.service_layer.targets import Targets
from jemput.shared.reference.areas import Area, AreaTable


@dataclass(frozen=True, slots=True)
class AtRisk:
    progress: AreaProgress
    parent: Area

    @property
    def extra_per_day(self) -> float | None:
        """Recordings a day needed beyond the 14-day pace (None: the due day has passed)."""
        needed = self.progress.forecast.pace_needed
        return None if needed is None else max(0.0, needed - self.progress.forecast.pace_short)


@dataclass(frozen=True, slots=True)
class RiskReport:
    area: Area
    as_of: date
    children: list[AtRisk]  # e.g. districts
    grandchildren: list[AtRisk]  # e.g. villages


def _ranked(items: list[AtRisk]) -> list[AtRisk]:
    return sorted(items, key=lambda x: (-x.progress.forecast.lacking, x.progress.area.code))


async def at_risk(
    conn: AsyncConnection,
    areas: AreaTable,
    area: Area,
    as_of: date,
    targets: Targets,
    *,
    tables: ReadModelTables | None = None,
) -> RiskReport:
    tables = tables or await active_tables(conn)
    # The roll day read once for the area and every child looked into.
    rolled = await aggregates.rolled_to(conn, tables)
    top = await progress(conn, areas, area, as_of, targets, tables=tables, rolled=rolled)
    children = [AtRisk(c, area) for c in top.at_risk]
    grandchildren: list[AtRisk] = []
    # Every child is looked into, at risk or not: a district on track can hide a village
    # that is far behind.
    for child in top.children:
        if not areas.children(child.area.code):
            continue
        below = await progress(
            conn, areas, child.area, as_of, targets, tables=tables, rolled=rolled
        )
        grandchildren.extend(AtRisk(g, child.area) for g in below.at_risk)
    return RiskReport(area, as_of, _ranked(children), _ranked(grandchildren))
