"""`GET /v1/data-quality`: denominators that are missing, zero or exceeded, and districts whose
total differs from the sum of their villages."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from jemput.analytics.entrypoints.http.deps import (
    CSV_RESPONSES,
    AnalyticsReader,
    AsOfParam,
    FormatParam,
    area_query,
    area_seen_by,
    models_csv,
    settings_of,
    wants_csv,
)
from jemput.analytics.service_layer import data_quality as quality_service
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import ReadSession
from jemput.shared.reference.areas import AreaLevel, load_area_table
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1", tags=["data quality"])


class IssueOut(BaseModel):
    code: str
    name: str
    level: str
    issue: str
    eligible: int
    recorded: int
    detail: str


class DataQualityOut(BaseModel):
    as_of: date
    area: str
    issues: list[IssueOut]
    counts: dict[str, int]


@router.get(
    "/data-quality",
    response_model=DataQualityOut,
    responses=CSV_RESPONSES,
    summary="Denominator checks of a regency or a district and the areas under it",
    description="Issues: `no_denominator` (no resident of the area is known), "
    "`zero_denominator` (residents, none eligible), `above_100_percent` (more recorded than "
    "eligible), `district_total_differs` (the district's own count differs from the sum of its "
    "villages), `unknown_village` (residents under a code the Kemendagri table lacks). CSV: one "
    "row per issue.",
)
async def read_data_quality(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    area: Annotated[
        str | None, area_query("A regency or district code; default: the regency")
    ] = None,
    as_of: AsOfParam = None,
    format_: FormatParam = None,
) -> DataQualityOut | Response:
    found = area_seen_by(principal, area or settings_of(request).regency_code)
    if found.level not in (AreaLevel.REGENCY, AreaLevel.DISTRICT):
        raise ProblemError(
            422,
            "Unprocessable Content",
            "Data quality is checked for a regency or a district.",
            errors=[FieldProblem(field="area", code="not_regency_or_district", reason=found.code)],
        )
    day = as_of or today_in_office()
    issues = await quality_service.check(await session.connection(), load_area_table(), found, day)
    out = DataQualityOut(
        as_of=day,
        area=found.code,
        issues=[IssueOut(**vars_of(i)) for i in issues],
        counts={},
    )
    for item in out.issues:
        out.counts[item.issue] = out.counts.get(item.issue, 0) + 1
    if wants_csv(request, format_):
        return models_csv(
            f"data-quality-{found.code}-{day.isoformat()}.csv",
            IssueOut,
            out.issues,
            first_columns={"as_of": day.isoformat()},
        )
    return out


def vars_of(issue: quality_service.Issue) -> dict[str, object]:
    return {name: getattr(issue, name) for name in IssueOut.model_fields}
