"""Progress of an area and its child areas toward their targets: the counts as of today and as
of each due day, the recordings of the last 14 and 30 days, and the forecast made of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.domain.area_changes import RECORDED_DAY
from jemput.analytics.domain.forecast import (
    LONG_WINDOW,
    SHORT_WINDOW,
    Counts,
    Forecast,
    Target,
    forecast,
)
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.coverage import COUNT_NAMES, AreaCounts, scope
from jemput.analytics.service_layer.generations import active_tables
from jemput.analytics.service_layer.targets import Targets
from jemput.shared.reference.areas import Area, AreaLevel, AreaTable

DAILY_SERIES_DAYS = 60


@dataclass(frozen=True, slots=True)
class AreaProgress:
    area: Area
    target: Target
    target_source: str  # the area code the target was set for, or "default"
    counts: AreaCounts  # as of today
    eligible_at_due: int
    recorded_last_short: int
    recorded_last_long: int
    forecast: Forecast

    @property
    def coverage(self) -> float | None:
        return self.counts.recorded / self.counts.eligible if self.counts.eligible else None


@dataclass(frozen=True, slots=True)
class ProgressReport:
    area: Area
    as_of: date
    total: AreaProgress
    children: list[AreaProgress]
    # The child areas that will miss their target at the pace of the last 14 days, the ones
    # lacking the most recordings first.
    at_risk: list[AreaProgress]
    # Residents of the area recorded per day (the days of the last DAILY_SERIES_DAYS).
    daily: list[tuple[date, int]]


def _every_day(found: dict[date, int], first: date, last: date) -> list[tuple[date, int]]:
    days = (last - first).days + 1
    return [
        (first + timedelta(days=i), found.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


async def daily_recordings(
    conn: AsyncConnection, tables: ReadModelTables, area: Area, first: date, last: date
) -> list[tuple[date, int]]:
    """Residents of the area recorded on each day from `first` to `last` (zeros included)."""
    found = await aggregates.daily(conn, tables, RECORDED_DAY, first, last, codes=[area.code])
    return _every_day(found.get(area.code, {}), first, last)


async def progress(
    conn: AsyncConnection,
    areas: AreaTable,
    area: Area,
    as_of: date,
    targets: Targets,
    *,
    tables: ReadModelTables | None = None,
    rolled: date | None = None,
) -> ProgressReport:
    """`rolled`: the aggregates' roll day, when the caller has read it (one read for many
    areas)."""
    tables = tables or await active_tables(conn)
    # The areas whose counts make the total: a village's own residents, else its child areas.
    # A village has no child areas, so it lists no children and no child at risk.
    children_areas = areas.children(area.code)
    counted = [area] if area.level is AreaLevel.VILLAGE else children_areas
    chosen = {a.code: targets.for_area(a.code) for a in (area, *children_areas)}
    # Today and every due day in two statements, the paces in one, the daily series in one:
    # each a row per area (or day), however many residents and days lie between.
    days = sorted({as_of, *(target.due for target, _ in chosen.values())})
    areas_read = scope(area)
    found = await aggregates.counts_on(
        conn,
        tables,
        days,
        parents=areas_read.get("parents", ()),
        codes=areas_read.get("codes", ()),
        rolled=rolled,
    )
    at_due = {
        day: {code: AreaCounts(*(m[n] for n in COUNT_NAMES)) for code, m in by_code.items()}
        for day, by_code in found.items()
    }
    now = at_due[as_of]
    paces = await aggregates.sums(
        conn,
        tables,
        RECORDED_DAY,
        [(as_of - timedelta(days=n - 1), as_of) for n in (SHORT_WINDOW, LONG_WINDOW)],
        parents=areas_read.get("parents", ()),
        codes=areas_read.get("codes", ()),
    )
    recent = {code: (short, long) for code, (short, long) in paces.items()}

    def made(
        of: Area, counts: AreaCounts, due_counts: AreaCounts, short: int, long: int
    ) -> AreaProgress:
        target, source = chosen[of.code]
        figures = Counts(as_of, counts.eligible, due_counts.eligible, counts.recorded, short, long)
        return AreaProgress(
            of, target, source, counts, due_counts.eligible, short, long, forecast(figures, target)
        )

    children = [
        made(
            child,
            now.get(child.code, AreaCounts()),
            at_due[chosen[child.code][0].due].get(child.code, AreaCounts()),
            *recent.get(child.code, (0, 0)),
        )
        for child in children_areas
    ]
    own_due = at_due[chosen[area.code][0].due]
    total = made(
        area,
        sum((now.get(c.code, AreaCounts()) for c in counted), AreaCounts()),
        sum((own_due.get(c.code, AreaCounts()) for c in counted), AreaCounts()),
        sum(recent.get(c.code, (0, 0))[0] for c in counted),
        sum(recent.get(c.code, (0, 0))[1] for c in counted),
    )
    at_risk = sorted(
        (c for c in children if c.forecast.at_risk),
        key=lambda c: (-c.forecast.lacking, c.area.code),
    )
    daily = await daily_recordings(
        conn, tables, area, as_of - timedelta(days=DAILY_SERIES_DAYS - 1), as_of
    )
    return ProgressReport(area, as_of, total, children, at_risk, daily)
