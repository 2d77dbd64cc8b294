"""`/v1/sessions`: schedule, read, start, close out and cancel outreach sessions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import OutreachSession
from jemput.outreach.domain.model import Outcomes, SessionKind, SessionStatus, capacity_overrun
from jemput.outreach.entrypoints.http.access import (
    SessionPlanner,
    SessionRecorder,
    actor,
    visible_session,
)
from jemput.outreach.entrypoints.http.deps import (
    EARLIEST,
    LATEST,
    ClockDep,
    ConfigDep,
    dated_cursor,
    problem_responses,
    replay_response,
)
from jemput.outreach.service_layer import scheduling, sessions
from jemput.outreach.service_layer.areas import village_name
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import IsoDate, WholeNumber
from jemput.shared.security import ensure_may_see

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

SessionIdPath = Annotated[str, Path(max_length=32, description="The session's id.")]
VILLAGE_PATTERN = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$"
SERIAL = Annotated[str, Field(min_length=1, max_length=40)]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SessionKind
    village_code: str = Field(pattern=VILLAGE_PATTERN, description="Where the team goes.")
    day: IsoDate = Field(ge=EARLIEST, le=LATEST)
    team_id: str = Field(max_length=32)
    kit_serials: list[SERIAL] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="The team's working kits to take (default: all of them).",
    )


class OutcomesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recorded: WholeNumber = Field(ge=0, le=10_000)
    failed_to_record: WholeNumber = Field(ge=0, le=10_000)
    under_age: WholeNumber = Field(ge=0, le=10_000)
    already_has_card: WholeNumber = Field(ge=0, le=10_000)
    absent: WholeNumber = Field(ge=0, le=10_000)


class SessionPublic(BaseModel):
    id: str
    kind: SessionKind
    village_code: str
    village_name: str | None
    day: date
    team_id: str
    status: SessionStatus
    kit_serials: list[str] = Field(description="Kits held for the day (none once cancelled).")
    planned_capacity: int = Field(description="Working kits times `per_kit_daily_rate`.")
    per_kit_daily_rate: int
    uploaded_recordings: int = Field(
        description="Recordings uploaded for the session; uploads beyond the planned capacity "
        "are accepted."
    )
    capacity_overrun: int = Field(
        description="Uploaded recordings beyond `planned_capacity` (0 within it)."
    )
    outcomes: OutcomesBody | None = Field(description="Reported at close-out.")
    cancel_reason: str | None
    expected_recordings: int | None = Field(description="From the accepted plan, if any.")
    plan_reason: str | None
    created_at: datetime
    started_at: datetime | None
    closed_at: datetime | None


async def session_views(session: AsyncSession, rows: list[OutreachSession]) -> list[SessionPublic]:
    ids = [row.id for row in rows]
    kits = await scheduling.held_kits(session, ids)
    uploads = await sessions.uploaded_counts(session, ids)
    views = []
    for row in rows:
        outcomes = sessions.outcomes_of(row)
        views.append(
            SessionPublic(
                id=row.id,
                kind=row.kind,
                village_code=row.village_code,
                village_name=village_name(row.village_code),
                day=row.day,
                team_id=row.team_id,
                status=row.status,
                kit_serials=kits.get(row.id, []),
                planned_capacity=row.planned_capacity,
                per_kit_daily_rate=row.per_kit_daily_rate,
                uploaded_recordings=uploads.get(row.id, 0),
                capacity_overrun=capacity_overrun(uploads.get(row.id, 0), row.planned_capacity),
                outcomes=OutcomesBody(**asdict(outcomes)) if outcomes else None,
                cancel_reason=row.cancel_reason,
                expected_recordings=row.expected_recordings,
                plan_reason=row.plan_reason,
                created_at=row.created_at,
                started_at=row.started_at,
                closed_at=row.closed_at,
            )
        )
    return views


async def session_view(session: AsyncSession, row: OutreachSession) -> SessionPublic:
    (view,) = await session_views(session, [row])
    return view


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses={
        **problem_responses(409, 422),
        **replay_response(SessionPublic, "The same session again: the stored one."),
    },
    summary="Schedule a session",
    description=(
        "A team goes to a village on a working day with its working kits; planned capacity is "
        "working kits times the per-kit daily rate. Weekends, national holidays, collective "
        "leave and declared office closures are refused (422, `not_a_working_day`, saying "
        "which), and so is a team or kit already out that day (409, `team_double_booked` / "
        "`kit_double_booked`). The same session again answers 200 with the stored one. "
        "Publishes `session_scheduled.v1`."
    ),
)
async def create_session(
    body: SessionCreate,
    principal: SessionPlanner,
    session: WriteSession,
    runtime: RuntimeDep,
    config: ConfigDep,
    clock: ClockDep,
    response: Response,
) -> SessionPublic:
    ensure_may_see(principal, body.village_code, "The session's village")
    request = scheduling.SessionRequest(
        kind=body.kind,
        village_code=body.village_code,
        day=body.day,
        team_id=body.team_id,
        kit_serials=tuple(body.kit_serials) if body.kit_serials else None,
    )
    row, created = await scheduling.schedule(
        session,
        runtime.outbox,
        request,
        config.scheduling,
        today=clock.today(),
        actor=actor(principal),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/sessions/{row.id}"
    return await session_view(session, row)


@router.get(
    "",
    response_model=Page[SessionPublic],
    responses=problem_responses(422),
    summary="List sessions",
    description="Sessions by day, then id; filter by a date range, a team and a status.",
)
async def list_sessions(
    principal: SessionPlanner,
    session: ReadSession,
    from_: Annotated[IsoDate | None, Query(alias="from", ge=EARLIEST, le=LATEST)] = None,
    to: Annotated[IsoDate | None, Query(ge=EARLIEST, le=LATEST)] = None,
    team_id: Annotated[str | None, Query(max_length=32)] = None,
    status_: Annotated[SessionStatus | None, Query(alias="status")] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[SessionPublic]:
    where = sessions.SessionFilter(
        start=from_, end=to, team_id=team_id, status=status_, areas=principal.areas
    )
    rows = await sessions.search(
        session, where, limit=page_size + 1, after=dated_cursor(page_token)
    )
    items, token = cut_page(rows, page_size, lambda row: (row.day.isoformat(), row.id))
    return Page(items=await session_views(session, items), next_page_token=token)


@router.get(
    "/{session_id}",
    response_model=SessionPublic,
    responses=problem_responses(404, 422),
    summary="Read a session",
)
async def read_session(
    session_id: SessionIdPath, principal: SessionPlanner, session: ReadSession
) -> SessionPublic:
    return await session_view(session, await visible_session(session, principal, session_id))


@router.post(
    "/{session_id}:start",
    response_model=SessionPublic,
    responses=problem_responses(404, 409, 422),
    summary="Start a session",
    description="Planned → in progress, on the session's day (or later). Recordings are "
    "accepted for sessions in progress only. Starting again changes nothing.",
)
async def start_session(
    session_id: SessionIdPath, principal: SessionRecorder, session: WriteSession, clock: ClockDep
) -> SessionPublic:
    await visible_session(session, principal, session_id)
    row = await sessions.start(session, session_id, today=clock.today(), now=clock.now())
    return await session_view(session, row)


class SessionClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: OutcomesBody
    kit_counts: dict[Annotated[str, Field(max_length=40)], Annotated[int, Field(ge=0)]] | None = (
        Field(
            default=None,
            max_length=20,
            description="Recordings each kit says it captured in the session, by serial: the "
            "close-out is refused while fewer have been uploaded.",
        )
    )


@router.post(
    "/{session_id}:close",
    response_model=SessionPublic,
    responses=problem_responses(404, 409, 422),
    summary="Close out a session with its outcomes",
    description=(
        "In progress → completed, with the counts of residents recorded, failed to record, "
        "under age, already holding a card, and absent. If `kit_counts` is given, a kit that "
        "reports more recordings than were uploaded for it refuses the close-out (409, "
        "`recordings_not_uploaded` per kit). `recorded` must lie between the residents the "
        "session's uploads name and the recordings uploaded: fewer is refused (422, "
        "`recorded_below_uploads`), more (409, `recordings_not_uploaded`: upload them first), "
        "both saying the numbers. The same close-out again changes nothing. "
        "Publishes `session_completed.v1`."
    ),
)
async def close_session(
    session_id: SessionIdPath,
    body: SessionClose,
    principal: SessionRecorder,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> SessionPublic:
    await visible_session(session, principal, session_id)
    outcomes = Outcomes(**body.outcomes.model_dump())
    row = await sessions.close(
        session,
        runtime.outbox,
        session_id,
        outcomes,
        kit_counts=body.kit_counts,
        now=clock.now(),
    )
    return await session_view(session, row)


class SessionCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=300)


@router.post(
    "/{session_id}:cancel",
    response_model=SessionPublic,
    responses=problem_responses(404, 409, 422),
    summary="Cancel a planned session",
    description="Frees the team and its kits for the day and hands the session's home visits "
    "back to the queue. A session in progress is closed out, not cancelled. Cancelling again "
    "changes nothing. Publishes `session_cancelled.v1`.",
)
async def cancel_session(
    session_id: SessionIdPath,
    body: SessionCancel,
    principal: SessionPlanner,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> SessionPublic:
    await visible_session(session, principal, session_id)
    row = await sessions.cancel(session, runtime.outbox, session_id, body.reason, now=clock.now())
    return await session_view(session, row)
