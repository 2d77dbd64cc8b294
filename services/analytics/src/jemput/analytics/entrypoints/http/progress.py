"""`GET /v1/progress`: the area and its child areas against their targets, with the forecast;
`PUT /v1/targets/{area}`: set an area's target."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel

from jemput.analytics.adapters.tables import (
    CoverageTargetPublic,
    CoverageTargetUpdate,
    read_model_tables,
)
from jemput.analytics.entrypoints.http import caching
from jemput.analytics.entrypoints.http.deps import (
    CSV_RESPONSES,
    PROBLEMS,
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
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer import progress as progress_service
from jemput.analytics.service_layer import targets as targets_service
from jemput.shared.http.service_app import ReadSession, WriteSession
from jemput.shared.reference.areas import AREA_CODE_PATTERN, load_area_table
from jemput.shared.security import Principal, Scope, require_scope
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1", tags=["progress"])

TargetSetter = Annotated[Principal, Depends(require_scope(Scope.ADMIN, whole_regency=True))]


class AreaProgressOut(BaseModel):
    code: str
    name: str
    level: str
    target_share: float
    target_due: date
    target_source: str
    eligible: int
    eligible_at_due: int
    recorded: int
    coverage: float | None
    needed: int
    lacking: int
    days_left: int
    pace_needed: float | None
    pace_14_days: float
    pace_30_days: float
    reached_on_at_14_day_pace: date | None
    reached_on_at_30_day_pace: date | None
    at_risk: bool
    print_ready: int
    printed: int
    issued: int
    suket_outstanding: int


class DayRecordings(BaseModel):
    day: date
    recorded: int


class ProgressOut(BaseModel):
    as_of: date
    area: AreaProgressOut
    children: list[AreaProgressOut]
    at_risk: list[str]
    daily: list[DayRecordings]


def _r(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def progress_out(item: progress_service.AreaProgress) -> AreaProgressOut:
    f, c = item.forecast, item.counts
    return AreaProgressOut(
        code=item.area.code,
        name=item.area.name,
        level=str(item.area.level),
        target_share=item.target.share,
        target_due=item.target.due,
        target_source=item.target_source,
        eligible=c.eligible,
        eligible_at_due=item.eligible_at_due,
        recorded=c.recorded,
        coverage=round(item.coverage, 6) if item.coverage is not None else None,
        needed=f.needed,
        lacking=f.lacking,
        days_left=f.days_left,
        pace_needed=_r(f.pace_needed),
        pace_14_days=round(f.pace_short, 4),
        pace_30_days=round(f.pace_long, 4),
        reached_on_at_14_day_pace=f.reached_on_short,
        reached_on_at_30_day_pace=f.reached_on_long,
        at_risk=f.at_risk,
        print_ready=c.print_ready,
        printed=c.printed,
        issued=c.issued,
        suket_outstanding=c.suket_outstanding,
    )


@router.get(
    "/progress",
    response_model=ProgressOut,
    responses={**CSV_RESPONSES, **caching.CONDITIONAL_RESPONSES},
    summary="Progress of an area and its child areas toward their coverage targets",
    description="needed = ceil(target share x eligible on the due day); lacking = needed - "
    "recorded; pace needed = lacking / days left; the day the target is reached at the pace of "
    "the last 14 and of the last 30 days (recordings in those days / 14 or 30, per calendar "
    "day). `at_risk` lists the child areas that miss their target at the 14-day pace, lacking "
    "the most first. `daily`: residents recorded per day over the last 60 days. CSV: one row "
    "for the area, then one per child area. Answers carry an `ETag` made of the read model's "
    "position and the targets: send it back in `If-None-Match` to get 304 while neither has "
    "changed.",
)
async def read_progress(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    area: Annotated[str, area_query("Kemendagri code, e.g. 16.02")],
    as_of: AsOfParam = None,
    format_: FormatParam = None,
) -> ProgressOut | Response:
    found = area_seen_by(principal, area)
    day = as_of or today_in_office()
    csv_wanted = wants_csv(request, format_)
    position = await aggregates.position(session)
    targets = await targets_service.load(session, default_target(settings_of(request)))
    tag = caching.etag(position, "progress", area, day, csv_wanted, targets.fingerprint())
    if (unchanged := caching.not_modified(request, position, tag)) is not None:
        return unchanged
    if not csv_wanted and (kept := caching.answers(request).get(tag)) is not None:
        return kept
    report = await progress_service.progress(
        await session.connection(),
        load_area_table(),
        found,
        day,
        targets,
        tables=read_model_tables(position.generation),
        rolled=position.rolled_to,
    )
    out = ProgressOut(
        as_of=day,
        area=progress_out(report.total),
        children=[progress_out(c) for c in report.children],
        at_risk=[c.area.code for c in report.at_risk],
        daily=[DayRecordings(day=d, recorded=n) for d, n in report.daily],
    )
    if csv_wanted:
        answer = models_csv(
            f"progress-{area}-{day.isoformat()}.csv",
            AreaProgressOut,
            [out.area, *out.children],
            first_columns={"as_of": day.isoformat()},
        )
        answer.headers.update(caching.headers(position, tag))
        return answer
    return caching.answers(request).keep(tag, out, caching.headers(position, tag))


@router.put(
    "/targets/{area}",
    response_model=CoverageTargetPublic,
    responses=PROBLEMS,
    summary="Set the coverage target of an area",
    description="The area's child areas without a target of their own follow it. Regency-wide "
    "administrators only.",
)
async def put_target(
    principal: TargetSetter,
    session: WriteSession,
    area: Annotated[str, Path(pattern=AREA_CODE_PATTERN, description="Kemendagri code")],
    body: CoverageTargetUpdate,
) -> CoverageTargetPublic:
    found = area_seen_by(principal, area)
    target = await targets_service.put(session, found.code, body, by=principal.client_id)
    return CoverageTargetPublic(
        area_code=target.area_code, share=target.share, due=target.due, source="area"
    )
