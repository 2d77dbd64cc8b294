"""Coverage month by month since the drive began: an area's counts at each month's end (the
last month ends on the day asked about) and the residents recorded in the month, from the
area's aggregates in two statements whatever the number of months."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.domain.area_changes import ALL_MEASURES, RECORDED_DAY
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.coverage import COUNT_NAMES, AreaCounts
from jemput.analytics.service_layer.generations import active_tables
from jemput.shared.reference.areas import Area

# A drive runs for months, not decades: older starts are cut to the last MAX_MONTHS months.
MAX_MONTHS = 60


@dataclass(frozen=True, slots=True)
class MonthCoverage:
    month: str  # YYYY-MM
    day: date  # the day the counts are taken: the month's last, or the day asked about
    counts: AreaCounts
    recorded_in_month: int  # residents of the area recorded from the 1st (or the start) to `day`

    @property
    def coverage(self) -> float | None:
        return self.counts.recorded / self.counts.eligible if self.counts.eligible else None


@dataclass(frozen=True, slots=True)
class CoverageHistory:
    area: Area
    as_of: date
    started_on: date | None  # the first month's first day; None: nothing recorded yet
    months: list[MonthCoverage]


def month_spans(start: date, as_of: date) -> list[tuple[date, date]]:
    """(first day, last day) of each month from `start`'s to `as_of`'s; the first month begins
    on `start`, the last ends on `as_of`. At most MAX_MONTHS, the latest kept."""
    spans = []
    first = start
    while first <= as_of:
        month_end = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        spans.append((first, min(month_end, as_of)))
        first = month_end + timedelta(days=1)
    return spans[-MAX_MONTHS:]


async def coverage_history(
    conn: AsyncConnection,
    area: Area,
    as_of: date,
    *,
    since: date | None = None,
    tables: ReadModelTables | None = None,
) -> CoverageHistory:
    """One point per month from `since` (default: the area's first recording day)."""
    tables = tables or await active_tables(conn)
    started = since or await aggregates.first_day(conn, tables, RECORDED_DAY, area.code)
    spans = month_spans(started, as_of) if started is not None else []
    if not spans:
        return CoverageHistory(area, as_of, started, [])
    days = [spans[0][0] - timedelta(days=1), *(last for _, last in spans)]
    found = await aggregates.counts_on(conn, tables, days, codes=[area.code])
    empty = dict.fromkeys(ALL_MEASURES, 0)
    months = []
    before = found[days[0]].get(area.code, empty)
    for first, last in spans:
        at_end = found[last].get(area.code, empty)
        months.append(
            MonthCoverage(
                month=first.strftime("%Y-%m"),
                day=last,
                counts=AreaCounts(*(at_end[name] for name in COUNT_NAMES)),
                recorded_in_month=at_end[RECORDED_DAY] - before[RECORDED_DAY],
            )
        )
        before = at_end
    return CoverageHistory(area, as_of, spans[0][0], months)
