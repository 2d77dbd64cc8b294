"""`GET /v1/coverage`: eligible, recorded and coverage per child area, as of a date."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from jemput.analytics.service_layer import coverage as coverage_service
from jemput.shared.http.problems import Problem, ProblemError
from jemput.shared.http.service_app import ReadSession
from jemput.shared.reference.areas import AREA_CODE_PATTERN, load_area_table
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1", tags=["coverage"])


class AreaCoverageOut(BaseModel):
    code: str
    name: str
    level: str
    eligible: int
    recorded: int
    coverage: float | None
    flags: list[str]


class CoverageOut(BaseModel):
    area: AreaCoverageOut
    as_of: date
    target: float
    children: list[AreaCoverageOut]


def _out(item: coverage_service.AreaCoverage) -> AreaCoverageOut:
    return AreaCoverageOut(
        code=item.area.code,
        name=item.area.name,
        level=str(item.area.level),
        eligible=item.eligible,
        recorded=item.recorded,
        coverage=round(item.coverage, 6) if item.coverage is not None else None,
        flags=item.flags,
    )


@router.get(
    "/coverage",
    response_model=CoverageOut,
    responses={
        c: {"model": Problem, "content": {"application/problem+json": {}}} for c in (404, 422)
    },
    summary="e-KTP recording coverage of an area and its child areas",
)
async def read_coverage(
    request: Request,
    session: ReadSession,
    area: Annotated[
        str, Query(pattern=AREA_CODE_PATTERN, description="Kemendagri code, e.g. 16.02")
    ],
    as_of: Annotated[date | None, Query(description="Default: today (WIB)")] = None,
) -> CoverageOut:
    areas = load_area_table()
    found = areas.get(area)
    if found is None:
        raise ProblemError(404, "Not Found", f"Area {area} is not in the Kemendagri table.")
    report = await coverage_service.coverage(session, areas, found, as_of or today_in_office())
    return CoverageOut(
        area=_out(report.total),
        as_of=report.as_of,
        target=request.app.state.settings.coverage_target,
        children=[_out(child) for child in report.children],
    )
