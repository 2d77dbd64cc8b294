"""What the head of office reads at a glance, beside coverage and progress:
`GET /v1/coverage/history` (coverage month by month since the drive began) and
`GET /v1/at-risk` (the districts and villages that will miss their target, ranked)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from jemput.analytics.entrypoints.http.deps import (
    CSV_RESPONSES,
    EARLIEST,
    LATEST,
    AnalyticsReader,
    AsOfParam,
    FormatParam,
    area_query,
    area_seen_by,
    default_target,
    models_csv,
    settings_of,
    wants_csv,
)
from jemput.analytics.entrypoints.http.progress import AreaProgressOut, progress_out
from jemput.analytics.service_layer import history as history_service
from jemput.analytics.service_layer import risk as risk_service
from jemput.analytics.service_layer import targets as targets_service
from jemput.shared.http.service_app import ReadSession
from jemput.shared.http.types import IsoDate
from jemput.shared.reference.areas import load_area_table
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1")


class MonthCoverageOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    day: date = Field(description="The day the counts are taken: the month's last, or `as_of`")
    eligible: int
    recorded: int
    coverage: float | None
    recorded_in_month: int = Field(
        description="Residents of the area recorded in the month (from `started_on` in the "
        "first, up to `day` in the last)"
    )
    print_ready: int
    printed: int
    issued: int
    suket_outstanding: int


class CoverageHistoryOut(BaseModel):
    area: str
    as_of: date
    target: float
    started_on: date | None = Field(
        description="The first month's first day: `since`, else the area's first recording day "
        "known (null: nothing recorded on a known day yet, and no months)"
    )
    months: list[MonthCoverageOut]


@router.get(
    "/coverage/history",
    response_model=CoverageHistoryOut,
    responses=CSV_RESPONSES,
    tags=["coverage"],
    summary="Coverage of an area month by month since the drive began",
    description="One point per month, from the month of the area's first recording on a known "
    f"day (or `since`) to the month of `as_of`, at most {history_service.MAX_MONTHS} "
    "(the latest): the counts of `/v1/coverage` for the area as of the month's last day (the "
    "last month: `as_of`), and the residents recorded in the month. CSV: one row per month.",
)
async def read_coverage_history(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    area: Annotated[str, area_query("Kemendagri code, e.g. 16.02")],
    as_of: AsOfParam = None,
    since: Annotated[
        IsoDate | None,
        Query(ge=EARLIEST, le=LATEST, description="Default: the area's first recording day"),
    ] = None,
    format_: FormatParam = None,
) -> CoverageHistoryOut | Response:
    found = area_seen_by(principal, area)
    day = as_of or today_in_office()
    report = await history_service.coverage_history(
        await session.connection(), found, day, since=since
    )
    out = CoverageHistoryOut(
        area=found.code,
        as_of=day,
        target=settings_of(request).coverage_target,
        started_on=report.started_on,
        months=[
            MonthCoverageOut(
                month=m.month,
                day=m.day,
                eligible=m.counts.eligible,
                recorded=m.counts.recorded,
                coverage=round(m.coverage, 6) if m.coverage is not None else None,
                recorded_in_month=m.recorded_in_month,
                print_ready=m.counts.print_ready,
                printed=m.counts.printed,
                issued=m.counts.issued,
                suket_outstanding=m.counts.suket_outstanding,
            )
            for m in report.months
        ],
    )
    if wants_csv(request, format_):
        return models_csv(
            f"coverage-history-{area}-{day.isoformat()}.csv",
            MonthCoverageOut,
            out.months,
            first_columns={"area": found.code},
        )
    return out


class AtRiskOut(AreaProgressOut):
    parent_code: str
    extra_per_day: float | None = Field(
        description="Recordings a day needed beyond the 14-day pace: pace_needed - pace_14_days "
        "(null when the due day has passed)"
    )


class AtRiskReportOut(BaseModel):
    as_of: date
    area: str
    children: list[AtRiskOut] = Field(
        description="The child areas at risk (a regency's districts), lacking the most first"
    )
    grandchildren: list[AtRiskOut] = Field(
        description="Their child areas at risk (the villages of every district, at risk or "
        "not), lacking the most first"
    )


def at_risk_out(item: risk_service.AtRisk) -> AtRiskOut:
    extra = item.extra_per_day
    return AtRiskOut(
        **progress_out(item.progress).model_dump(),
        parent_code=item.parent.code,
        extra_per_day=round(extra, 4) if extra is not None else None,
    )


@router.get(
    "/at-risk",
    response_model=AtRiskReportOut,
    responses=CSV_RESPONSES,
    tags=["progress"],
    summary="The districts and villages that will miss their target, ranked",
    description="Two levels under the area: its child areas and their child areas whose "
    "target is missed at the pace of the last 14 days (as `at_risk` in `/v1/progress`, the "
    "same figures), each list lacking the most first, with the recordings a day each needs "
    "(`pace_needed`) and how many more than it records now (`extra_per_day`). CSV: the child "
    "areas, then the grandchildren.",
)
async def read_at_risk(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    area: Annotated[str, area_query("Kemendagri code, e.g. 16.02")],
    as_of: AsOfParam = None,
    format_: FormatParam = None,
) -> AtRiskReportOut | Response:
    found = area_seen_by(principal, area)
    day = as_of or today_in_office()
    targets = await targets_service.load(session, default_target(settings_of(request)))
    report = await risk_service.at_risk(
        await session.connection(), load_area_table(), found, day, targets
    )
    out = AtRiskReportOut(
        as_of=day,
        area=found.code,
        children=[at_risk_out(x) for x in report.children],
        grandchildren=[at_risk_out(x) for x in report.grandchildren],
    )
    if wants_csv(request, format_):
        return models_csv(
            f"at-risk-{area}-{day.isoformat()}.csv",
            AtRiskOut,
            [*out.children, *out.grandchildren],
            first_columns={"as_of": day.isoformat()},
        )
    return out
