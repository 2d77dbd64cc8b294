"""`/v1/home-visits`: requests to record a resident at home, served by deadline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from jemput.outreach.adapters.tables import HomeVisit
from jemput.outreach.domain.model import HomeVisitOutcome, HomeVisitState, VisitReason
from jemput.outreach.entrypoints.http.access import Planner, actor
from jemput.outreach.entrypoints.http.audit_trail import Trail
from jemput.outreach.entrypoints.http.deps import (
    EARLIEST,
    LATEST,
    ClockDep,
    ConfigDep,
    dated_cursor,
    problem_responses,
    replay_response,
)
from jemput.outreach.service_layer import home_visits
from jemput.shared.audit import AuditAction
from jemput.shared.audit.trail import loaded_nik
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import IsoDate, WholeNumber
from jemput.shared.nik import Nik, NikText

router = APIRouter(prefix="/v1/home-visits", tags=["home visits"])

HomeVisitIdPath = Annotated[str, Path(max_length=32)]


class HomeVisitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    nik: Nik
    reason: VisitReason = Field(
        description="elderly (60 or older), sick (or bedridden), disabled, mental_illness "
        "(recorded with photo and fingerprints only)."
    )
    deadline_days: WholeNumber | None = Field(
        default=None, ge=1, le=60, description="Days to the deadline (default: the setting, 3)."
    )


class HomeVisitPublic(BaseModel):
    id: str
    nik: NikText
    village_code: str
    reason: VisitReason
    requested_at: datetime
    deadline: date
    state: HomeVisitState
    session_id: str | None = Field(description="The session that will serve it, if any.")
    outcome: HomeVisitOutcome | None
    outcome_reason: str | None
    recording_id: str | None
    closed_at: datetime | None


def visit_view(visit: HomeVisit) -> HomeVisitPublic:
    return HomeVisitPublic(
        id=visit.id,
        nik=visit.nik,
        village_code=visit.village_code,
        reason=visit.reason,
        requested_at=visit.requested_at,
        deadline=visit.deadline,
        state=visit.state,
        session_id=visit.session_id,
        outcome=visit.outcome,
        outcome_reason=visit.outcome_reason,
        recording_id=visit.recording_id,
        closed_at=visit.closed_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HomeVisitPublic,
    responses={
        **problem_responses(422),
        **replay_response(HomeVisitPublic, "The resident's open request, already made."),
    },
    summary="Request a home visit",
    description=(
        "For a resident who cannot come to a drive. Checked against the residents read model "
        "like an appointment (by the deadline); `elderly` needs a resident of 60 or older. A "
        "resident has one open request: asking again answers 200 with it."
    ),
)
async def request_visit(
    body: HomeVisitCreate,
    principal: Planner,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    config: ConfigDep,
    clock: ClockDep,
    response: Response,
) -> HomeVisitPublic:
    wanted = home_visits.VisitRequest(
        nik=body.nik,
        reason=body.reason,
        deadline_days=body.deadline_days or config.settings.home_visit_deadline_days,
    )
    async with trail.changing(AuditAction.HOME_VISIT_CREATE, body.nik, f"reason {body.reason}"):
        visit, created = await home_visits.request(
            session, runtime.outbox, wanted, now=clock.now(), actor=actor(principal)
        )
    await trail.changed(
        session,
        AuditAction.HOME_VISIT_CREATE,
        [body.nik],
        f"home visit {visit.id}" + ("" if created else ", already open"),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/home-visits/{visit.id}"
    return visit_view(visit)


@router.get(
    "",
    response_model=Page[HomeVisitPublic],
    responses=problem_responses(422),
    summary="The home-visit queue",
    description="Requests by deadline, earliest first (open ones unless `state` says otherwise).",
)
async def list_visits(
    _: Planner,
    trail: Trail,
    session: ReadSession,
    state: HomeVisitState = HomeVisitState.OPEN,
    deadline_by: Annotated[
        IsoDate | None, Query(ge=EARLIEST, le=LATEST, description="Due on or before this day.")
    ] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[HomeVisitPublic]:
    rows = await home_visits.queue(
        session,
        state,
        limit=page_size + 1,
        after=dated_cursor(page_token),
        deadline_by=deadline_by,
    )
    items, token = cut_page(rows, page_size, lambda row: (row.deadline.isoformat(), row.id))
    filters = f"state={state}" + (f" deadline_by={deadline_by}" if deadline_by else "")
    await trail.read_many(AuditAction.HOME_VISIT_LIST, (row.nik for row in items), filters)
    return Page(items=[visit_view(row) for row in items], next_page_token=token)


class HomeVisitClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: HomeVisitOutcome = Field(
        description="refused, unreachable, moved, deceased or not_needed; `recorded` is set by "
        "the resident's recording itself."
    )
    reason: str = Field(min_length=3, max_length=300)


@router.post(
    "/{home_visit_id}:close",
    response_model=HomeVisitPublic,
    responses=problem_responses(404, 409, 422),
    summary="Close a home-visit request with an outcome",
)
async def close_visit(
    home_visit_id: HomeVisitIdPath,
    body: HomeVisitClose,
    _: Planner,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> HomeVisitPublic:
    detail = f"home visit {home_visit_id} outcome {body.outcome}"
    async with trail.changing(AuditAction.HOME_VISIT_CLOSE, detail=detail) as subject:
        try:
            visit = await home_visits.close(
                session, runtime.outbox, home_visit_id, body.outcome, body.reason, now=clock.now()
            )
        except ProblemError:
            # Recorded under the resident when the request was found before the refusal.
            subject.nik = loaded_nik(session, HomeVisit, home_visit_id)
            raise
    await trail.changed(session, AuditAction.HOME_VISIT_CLOSE, [visit.nik], detail)
    return visit_view(visit)
