"""`GET /v1/stock`: blank cards per location, days of cover, and the cards owed in an area."""

from __future__ import annotations

from datetime import date, datetime
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
from jemput.analytics.service_layer import stock as stock_service
from jemput.shared.http.service_app import ReadSession
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1", tags=["stock"])


class LocationStockOut(BaseModel):
    location: str
    on_hand: int
    reserved: int
    available: int
    daily_use: float
    days_of_cover: float | None
    low_threshold: int | None
    low: bool
    changed_at: datetime | None


class StockOut(BaseModel):
    as_of: date
    area: str
    locations: list[LocationStockOut]
    total: LocationStockOut
    print_backlog: int
    suket_outstanding: int
    sukets_issued_last_14_days: int


def location_out(item: stock_service.LocationStock) -> LocationStockOut:
    cover = item.days_of_cover
    return LocationStockOut(
        location=item.location,
        on_hand=item.on_hand,
        reserved=item.reserved,
        available=item.available,
        daily_use=round(item.daily_use, 4),
        days_of_cover=round(cover, 1) if cover is not None else None,
        low_threshold=item.low_threshold,
        low=item.low,
        changed_at=item.changed_at,
    )


@router.get(
    "/stock",
    response_model=StockOut,
    responses=CSV_RESPONSES,
    summary="Blank-card stock, days of cover and the cards owed",
    description="Per location, from inventory's events: on hand, reserved, available; "
    "daily use = the daily demand of inventory's `/v1/forecast` on `as_of`: over the complete "
    "days before it (`DEMAND_WINDOW_DAYS`, 90, from the location's first day at most), blanks "
    "printed and spoiled less the cards printed for SUKET holders, plus the SUKETs issued, per "
    "day (the total: the locations' sum); days of cover = available / daily use. Of the area's "
    "residents: the print backlog (print-ready, not printed) and the SUKETs outstanding "
    "(neither cleared by the hand-over nor revoked). CSV: one row per location, then the total "
    "(`*`).",
)
async def read_stock(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    area: Annotated[
        str | None, area_query("Kemendagri code for the cards owed; default: the regency")
    ] = None,
    as_of: AsOfParam = None,
    format_: FormatParam = None,
) -> StockOut | Response:
    found = area_seen_by(principal, area or settings_of(request).regency_code)
    day = as_of or today_in_office()
    report = await stock_service.stock(
        await session.connection(),
        found,
        day,
        demand_window=settings_of(request).demand_window_days,
    )
    out = StockOut(
        as_of=day,
        area=found.code,
        locations=[location_out(x) for x in report.locations],
        total=location_out(report.total),
        print_backlog=report.print_backlog,
        suket_outstanding=report.suket_outstanding,
        sukets_issued_last_14_days=report.sukets_issued_recently,
    )
    if wants_csv(request, format_):
        return models_csv(
            f"stock-{day.isoformat()}.csv",
            LocationStockOut,
            [*out.locations, out.total],
            first_columns={"as_of": day.isoformat()},
        )
    return out
