"""`GET /v1/coverage`: eligible, recorded, coverage and the card pipeline per child area, as of
a day."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from jemput.analytics.adapters.tables import read_model_tables
from jemput.analytics.entrypoints.http import caching
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
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer import coverage as coverage_service
from jemput.shared.http.service_app import ReadSession
from jemput.shared.reference.areas import load_area_table
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1", tags=["coverage"])


class AreaCoverageOut(BaseModel):
    code: str
    name: str
    level: str
    eligible: int
    recorded: int
    coverage: float | None
    print_ready: int
    duplicates: int
    printed: int
    issued: int
    suket_outstanding: int
    residents: int
    flags: list[str]


class CoverageOut(BaseModel):
    area: AreaCoverageOut
    as_of: date
    target: float
    children: list[AreaCoverageOut]


def coverage_out(item: coverage_service.AreaCoverage) -> AreaCoverageOut:
    c = item.counts
    return AreaCoverageOut(
        code=item.area.code,
        name=item.area.name,
        level=str(item.area.level),
        eligible=c.eligible,
        recorded=c.recorded,
        coverage=round(item.coverage, 6) if item.coverage is not None else None,
        print_ready=c.print_ready,
        duplicates=c.duplicates,
        printed=c.printed,
        issued=c.issued,
        suket_outstanding=c.suket_outstanding,
        residents=c.residents,
        flags=item.flags,
    )


@router.get(
    "/coverage",
    response_model=CoverageOut,
    responses={**CSV_RESPONSES, **caching.CONDITIONAL_RESPONSES},
    summary="e-KTP recording coverage of an area and its child areas",
    description="Counts as of the day: eligible residents (17 or older, or ever married, alive "
    "and living in the regency), recorded, print-ready, duplicates, printed, issued and SUKETs "
    "outstanding. CSV: one row for the area, then one per child area. A client limited to "
    "areas may ask for its areas and the areas under them. Answers carry an `ETag` (and "
    "`Last-Modified`) from the read model's position: send it back in `If-None-Match` to get "
    "304 while no event has changed the counts.",
)
async def read_coverage(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    area: Annotated[str, area_query("Kemendagri code, e.g. 16.02")],
    as_of: AsOfParam = None,
    format_: FormatParam = None,
) -> CoverageOut | Response:
    found = area_seen_by(principal, area)
    day = as_of or today_in_office()
    target = settings_of(request).coverage_target
    csv_wanted = wants_csv(request, format_)
    position = await aggregates.position(session)
    tag = caching.etag(position, "coverage", area, day, csv_wanted, target)
    if (unchanged := caching.not_modified(request, position, tag)) is not None:
        return unchanged
    if not csv_wanted and (kept := caching.answers(request).get(tag)) is not None:
        return kept
    # The position read names the generation and its roll day: nothing is read twice.
    report = await coverage_service.coverage(
        session,
        load_area_table(),
        found,
        day,
        tables=read_model_tables(position.generation),
        rolled=position.rolled_to,
    )
    out = CoverageOut(
        area=coverage_out(report.total),
        as_of=report.as_of,
        target=target,
        children=[coverage_out(child) for child in report.children],
    )
    if csv_wanted:
        answer = models_csv(
            f"coverage-{area}-{day.isoformat()}.csv",
            AreaCoverageOut,
            [out.area, *out.children],
            first_columns={"as_of": day.isoformat()},
        )
        answer.headers.update(caching.headers(position, tag))
        return answer
    return caching.answers(request).keep(tag, out, caching.headers(position, tag))
