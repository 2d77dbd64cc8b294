"""`/v1/closures`: days the office is closed besides weekends and national holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from jemput.outreach.adapters.tables import OfficeClosure
from jemput.outreach.entrypoints.http.access import Planner, actor
from jemput.outreach.entrypoints.http.audit_trail import Trail
from jemput.outreach.entrypoints.http.deps import (
    EARLIEST,
    LATEST,
    ClockDep,
    date_cursor,
    problem_responses,
    replay_response,
)
from jemput.outreach.service_layer import closures
from jemput.shared.audit import AuditAction
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, WriteSession
from jemput.shared.http.types import IsoDate

router = APIRouter(prefix="/v1/closures", tags=["calendar"])

ClosureDayPath = Annotated[
    IsoDate, Path(ge=EARLIEST, le=LATEST, description="The closed day, YYYY-MM-DD.")
]


class ClosureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: IsoDate = Field(ge=EARLIEST, le=LATEST)
    reason: str = Field(min_length=3, max_length=200, description="e.g. a regional holiday.")


class ClosurePublic(BaseModel):
    day: date
    reason: str
    declared_by: str
    declared_at: datetime


class ClosureDeclared(ClosurePublic):
    sessions_on_that_day: list[str] = Field(
        description="Sessions still planned that day: they cannot start while the day is "
        "closed, so cancel them and schedule them on another day."
    )


def closure_view(closure: OfficeClosure) -> ClosurePublic:
    return ClosurePublic(
        day=closure.day,
        reason=closure.reason,
        declared_by=closure.declared_by,
        declared_at=closure.declared_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClosureDeclared,
    responses={
        **problem_responses(409, 422),
        **replay_response(ClosureDeclared, "The same closure again: the stored one."),
    },
    summary="Declare the office closed on a day",
    description="No session can be scheduled or started that day, and the planner skips it. "
    "Refused (409 `sessions-took-place`, one error per session) while a session that day is "
    "in progress, completed or holds recordings. Sessions still planned that day are named in "
    "`sessions_on_that_day`. Declaring it again with the same reason answers 200; with another "
    "reason, 409. Audited (`closure.declare`).",
)
async def declare_closure(
    body: ClosureCreate,
    principal: Planner,
    trail: Trail,
    session: WriteSession,
    clock: ClockDep,
    response: Response,
) -> ClosureDeclared:
    detail = f"closure {body.day.isoformat()}"
    async with trail.changing(AuditAction.CLOSURE_DECLARE, detail=detail):
        closure, created, planned = await closures.declare(
            session, body.day, body.reason, actor=actor(principal), today=clock.today()
        )
    if created:
        await trail.changed(session, AuditAction.CLOSURE_DECLARE, [None], detail)
    else:
        response.status_code = status.HTTP_200_OK
    return ClosureDeclared(**closure_view(closure).model_dump(), sessions_on_that_day=planned)


@router.delete(
    "/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 422),
    summary="Revoke an office closure",
    description="The office is open that day again: sessions can be scheduled, and those "
    "still planned can start. 404 when the day is not declared closed; a past day's closure "
    "stays (422 `day_in_past`). Audited (`closure.revoke`).",
)
async def revoke_closure(
    day: ClosureDayPath, _: Planner, trail: Trail, session: WriteSession, clock: ClockDep
) -> Response:
    detail = f"closure {day.isoformat()}"
    async with trail.changing(AuditAction.CLOSURE_REVOKE, detail=detail):
        await closures.revoke(session, day, today=clock.today())
    await trail.changed(session, AuditAction.CLOSURE_REVOKE, [None], detail)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    response_model=Page[ClosurePublic],
    responses=problem_responses(422),
    summary="List office closures",
    description="Closures from `from` (default today) to `to` (default a year later).",
)
async def list_closures(
    _: Planner,
    session: ReadSession,
    clock: ClockDep,
    from_: Annotated[IsoDate | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
    to: Annotated[IsoDate | None, Query(ge=EARLIEST, le=LATEST)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[ClosurePublic]:
    start = from_ or clock.today()
    end = to or start + timedelta(days=366)
    rows = await closures.list_closures(
        session, start, end, limit=page_size + 1, after=date_cursor(page_token)
    )
    items, token = cut_page(rows, page_size, lambda row: (row.day.isoformat(),))
    return Page(items=[closure_view(row) for row in items], next_page_token=token)
