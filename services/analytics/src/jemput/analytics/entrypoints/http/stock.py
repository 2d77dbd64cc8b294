"""`GET /v1/stock`: blank cards per location, days of cover, and the cards owed in an area."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from jemput.analytics.domain.blank_requests import RequestState, suggest
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


class BlankRequestOut(BaseModel):
    request_id: str
    location: str
    quantity: int
    requested_at: datetime
    received: int = Field(
        description="Blanks received at the location since its oldest open request, served "
        "to the requests oldest first (receipts do not name their request)"
    )
    outstanding: int


class StockOut(BaseModel):
    as_of: date
    area: str
    locations: list[LocationStockOut]
    total: LocationStockOut
    print_backlog: int
    suket_outstanding: int
    sukets_issued_last_14_days: int
    owed: int = Field(description="Cards owed without a blank: print_backlog - total.reserved")
    reorder_point: int = Field(
        description="⌈total daily use x (lead time + safety days)⌉, inventory's rule"
    )
    reorder_now: bool = Field(description="total available - owed <= reorder_point")
    suggested_request: int = Field(
        description="Blanks to ask the ministry for: max(⌈total daily use x cover days⌉ + owed "
        "- total available, 0)"
    )
    requests_open: list[BlankRequestOut] = Field(
        description="Requests to the ministry not yet answered in full, oldest first"
    )


def request_out(item: RequestState) -> BlankRequestOut:
    r = item.request
    return BlankRequestOut(
        request_id=r.request_id,
        location=r.location,
        quantity=r.quantity,
        requested_at=r.requested_at,
        received=item.received,
        outstanding=item.outstanding,
    )


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
    "(neither cleared by the hand-over nor revoked). The request to the ministry by inventory's "
    "rule (docs/inventory.md, Forecast) on the total, with the cards owed counted per resident "
    "(inventory's `/v1/forecast` counts them per print job: the two agree unless a reserved "
    "blank waits for a resident not print-ready); the requests of the last 365 days still "
    "open. CSV: one row per location, then the total (`*`).",
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
    settings = settings_of(request)
    report = await stock_service.stock(
        await session.connection(), found, day, demand_window=settings.demand_window_days
    )
    wanted = suggest(
        report.total.daily_use,
        report.total.available,
        report.owed,
        lead_time_days=settings.ministry_lead_time_days,
        safety_days=settings.safety_days,
        cover_days=settings.request_cover_days,
    )
    out = StockOut(
        as_of=day,
        area=found.code,
        locations=[location_out(x) for x in report.locations],
        total=location_out(report.total),
        print_backlog=report.print_backlog,
        suket_outstanding=report.suket_outstanding,
        sukets_issued_last_14_days=report.sukets_issued_recently,
        owed=report.owed,
        reorder_point=wanted.reorder_point,
        reorder_now=wanted.reorder_now,
        suggested_request=wanted.quantity,
        requests_open=[request_out(x) for x in report.open_requests],
    )
    if wants_csv(request, format_):
        return models_csv(
            f"stock-{day.isoformat()}.csv",
            LocationStockOut,
            [*out.locations, out.total],
            first_columns={"as_of": day.isoformat()},
        )
    return out
