"""`/v1/forecast` and `/v1/requests`: when blanks run out, how many to ask the ministry for,
the requests made (a document to print or export) and what has been received for each."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from jemput.inventory.entrypoints.http import request_document
from jemput.inventory.entrypoints.http.access import Operator, RegencyReader, actor
from jemput.inventory.entrypoints.http.deps import (
    LOCATION_DESCRIPTION,
    LOCATION_PATTERN,
    OFFICE,
    ClockDep,
    Once,
    SettingsDep,
    check_location,
    moment_cursor,
    problem_responses,
)
from jemput.inventory.service_layer import forecasting, requests
from jemput.inventory.service_layer.forecasting import Horizon, LocationForecast
from jemput.inventory.service_layer.requests import FollowedRequest, RequestStatus
from jemput.inventory.settings import InventorySettings
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import WholeNumber

router = APIRouter(tags=["forecast and requests"])

RequestIdPath = Annotated[str, Path(min_length=1, max_length=32, description="The request's id.")]
LeadTime = Annotated[
    int | None,
    Query(ge=1, le=365, description="Days from request to delivery (default: the setting, 30)."),
]


class ForecastPublic(BaseModel):
    location: str
    today: date
    history_from: date | None = Field(description="First day averaged (null: no history).")
    history_to: date | None
    history_days: int
    stock_out_days: int = Field(description="Days the location had no available blank.")
    consumed: int = Field(
        description="Blanks printed and spoiled in the history (less cards of SUKET holders)."
    )
    sukets_issued: int = Field(description="Residents turned away with a SUKET in the history.")
    daily_demand: float = Field(
        description="(consumed + SUKETs issued on stock-out days) / history days."
    )
    on_hand: int
    reserved: int
    available: int
    days_of_cover: float | None = Field(description="available / daily demand (null: none).")
    lead_time_days: int
    safety_days: int
    cover_days: int
    reorder_point: int = Field(description="ceil(daily demand * (lead time + safety days)).")
    print_ready_backlog: int = Field(description="Print-ready jobs without a blank or SUKET.")
    sukets_outstanding: int = Field(
        description="SUKETs outstanding: neither cleared by a hand-over nor revoked, expired or "
        "not (as `/v1/sukets`)."
    )
    sukets_waiting_for_blank: int = Field(
        description="Of the SUKETs outstanding, those whose job has no blank yet (owed)."
    )
    reorder_now: bool = Field(description="available - owed <= reorder point.")
    suggested_request: int = Field(
        description="ceil(daily demand * cover days) + owed - available, at least 0."
    )


def forecast_view(found: LocationForecast) -> ForecastPublic:
    history = found.history
    result = found.result
    return ForecastPublic(
        location=found.location,
        today=found.today,
        history_from=history[0].day if history else None,
        history_to=history[-1].day if history else None,
        history_days=len(history),
        stock_out_days=sum(1 for day in history if day.out_of_stock),
        consumed=sum(day.consumed for day in history),
        sukets_issued=sum(day.sukets_issued for day in history),
        daily_demand=round(result.daily_demand, 3),
        on_hand=found.stock.on_hand,
        reserved=found.stock.reserved,
        available=found.stock.available,
        days_of_cover=round(result.days_of_cover, 1) if result.days_of_cover is not None else None,
        lead_time_days=found.horizon.lead_time_days,
        safety_days=found.horizon.safety_days,
        cover_days=found.horizon.cover_days,
        reorder_point=result.reorder_point,
        print_ready_backlog=found.print_ready_backlog,
        sukets_outstanding=found.sukets_outstanding,
        sukets_waiting_for_blank=found.sukets_waiting_for_blank,
        reorder_now=result.reorder_now,
        suggested_request=result.suggested_request,
    )


def horizon(settings: InventorySettings, lead_time_days: int | None) -> Horizon:
    return Horizon(
        lead_time_days=lead_time_days or settings.ministry_lead_time_days,
        safety_days=settings.safety_days,
        cover_days=settings.request_cover_days,
        window_days=settings.forecast_window_days,
    )


@router.get(
    "/v1/forecast",
    response_model=ForecastPublic,
    responses=problem_responses(422),
    summary="Forecast of blanks and the suggested request",
    description=(
        "From the location's daily snapshots over the last `forecast_window_days` complete "
        "days (90 by default): the average daily demand, counting on stock-out days the "
        "residents turned away with a SUKET; days of cover; the reorder point over the "
        "ministry's lead time plus safety days; and the request that covers "
        "`request_cover_days` of demand plus the cards already owed (print-ready backlog and "
        "SUKET holders), less what is available."
    ),
)
async def read_forecast(
    _: RegencyReader,
    session: ReadSession,
    settings: SettingsDep,
    clock: ClockDep,
    location: Annotated[
        str, Query(pattern=LOCATION_PATTERN, description=LOCATION_DESCRIPTION)
    ] = OFFICE,
    lead_time_days: LeadTime = None,
) -> ForecastPublic:
    check_location(location, settings)
    found = await forecasting.for_location(
        session,
        location,
        today=clock.today(),
        now=clock.now(),
        horizon=horizon(settings, lead_time_days),
    )
    return forecast_view(found)


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location: str = Field(
        default=OFFICE, pattern=LOCATION_PATTERN, description="Where the blanks are to go."
    )
    quantity: WholeNumber | None = Field(
        default=None, ge=1, le=1_000_000, description="Default: the forecast's suggestion."
    )
    signed_by: str = Field(
        min_length=1, max_length=100, description="The official signing the request."
    )
    note: str | None = Field(default=None, max_length=500)
    lead_time_days: WholeNumber | None = Field(default=None, ge=1, le=365)


class RequestPublic(BaseModel):
    id: str
    location: str
    quantity: int
    status: RequestStatus
    received: int = Field(description="Blanks received by receipts naming this request.")
    outstanding: int
    suggested_quantity: int = Field(description="The forecast's suggestion when it was made.")
    daily_demand: float
    available: int
    print_ready_backlog: int
    sukets_outstanding: int
    reorder_point: int
    lead_time_days: int
    signed_by: str
    note: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, followed: FollowedRequest) -> RequestPublic:
        row = followed.request
        return cls(
            id=row.id,
            location=row.location,
            quantity=row.quantity,
            status=followed.status,
            received=followed.received,
            outstanding=followed.outstanding,
            suggested_quantity=row.suggested_quantity,
            daily_demand=row.daily_demand,
            available=row.available,
            print_ready_backlog=row.print_ready_backlog,
            sukets_outstanding=row.sukets_outstanding,
            reorder_point=row.reorder_point,
            lead_time_days=row.lead_time_days,
            signed_by=row.signed_by,
            note=row.note,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@router.post(
    "/v1/requests",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestPublic,
    responses=problem_responses(409, 422),
    summary="Request blanks from the ministry",
    description=(
        "Records a request with the forecast it was based on and publishes "
        "`blanks_requested.v1`. Without `quantity` the forecast's suggestion is asked for "
        "(422 when it suggests none). Print or export it from `/v1/requests/{id}/document`; "
        "receipts that name it (`request_id`) follow it to `received`."
    ),
)
async def create_request(
    body: RequestCreate,
    principal: Operator,
    session: WriteSession,
    runtime: RuntimeDep,
    settings: SettingsDep,
    clock: ClockDep,
    response: Response,
    once: Once,
) -> RequestPublic:
    check_location(body.location, settings)

    async def work() -> RequestPublic:
        basis = await forecasting.for_location(
            session,
            body.location,
            today=clock.today(),
            now=clock.now(),
            horizon=horizon(settings, body.lead_time_days),
        )
        made = await requests.create(
            session,
            runtime.outbox,
            basis=basis,
            quantity=body.quantity,
            signed_by=body.signed_by,
            note=body.note,
            actor=actor(principal),
            now=clock.now(),
        )
        response.headers["Location"] = f"/v1/requests/{made.id}"
        return RequestPublic.of(FollowedRequest(made, 0))

    return await once.run(body, RequestPublic, work)


@router.get(
    "/v1/requests",
    response_model=Page[RequestPublic],
    responses=problem_responses(422),
    summary="Requests to the ministry",
    description="The newest first, with what has been received for each; optionally by status.",
)
async def list_requests(
    _: RegencyReader,
    session: ReadSession,
    status: RequestStatus | None = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[RequestPublic]:
    rows = await requests.list_requests(
        session, status=status, limit=page_size + 1, after=moment_cursor(page_token)
    )
    items, token = cut_page(
        rows, page_size, lambda f: (f.request.created_at.isoformat(), f.request.id)
    )
    return Page(items=[RequestPublic.of(f) for f in items], next_page_token=token)


@router.get(
    "/v1/requests/{request_id}",
    response_model=RequestPublic,
    responses=problem_responses(404, 422),
    summary="Read a request",
    description="Its receipts are in `GET /v1/ledger?request_id=…`.",
)
async def read_request(
    request_id: RequestIdPath, _: RegencyReader, session: ReadSession
) -> RequestPublic:
    return RequestPublic.of(await requests.get(session, request_id))


@router.get(
    "/v1/requests/{request_id}/document",
    response_class=HTMLResponse,
    responses={
        200: {
            "description": "The request as a printable page (html) or a CSV export.",
            "content": {"text/html": {}, "text/csv": {}},
        },
        **problem_responses(404, 422),
    },
    summary="The request as a document to print or export",
    description=(
        "`format=html` (default): a page in Bahasa Indonesia to print, sign and send; "
        "`format=csv`: the same figures as `field,value` rows."
    ),
)
async def request_document_page(
    request_id: RequestIdPath,
    _: RegencyReader,
    session: ReadSession,
    settings: SettingsDep,
    format: Literal["html", "csv"] = "html",
) -> Response:
    followed = await requests.get(session, request_id)
    if format == "csv":
        return PlainTextResponse(
            request_document.csv_text(followed),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="request-{followed.request.id}.csv"'
            },
        )
    return HTMLResponse(request_document.html_page(followed, settings.regency_code))
