"""`/v1/plan`: the planner's proposal for a date range, and accepting it as sessions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from jemput.outreach.domain.calendar import DayOffKind
from jemput.outreach.domain.model import SessionKind
from jemput.outreach.domain.planner import Proposal
from jemput.outreach.entrypoints.http.access import Planner, actor
from jemput.outreach.entrypoints.http.deps import (
    EARLIEST,
    LATEST,
    ClockDep,
    ConfigDep,
    problem_responses,
)
from jemput.outreach.entrypoints.http.sessions import (
    SERIAL,
    VILLAGE_PATTERN,
    SessionPublic,
    session_views,
)
from jemput.outreach.service_layer import planning
from jemput.outreach.service_layer.areas import village_name
from jemput.outreach.service_layer.scheduling import SessionRequest
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import IsoDate

router = APIRouter(tags=["plan"])


class ProposedSession(BaseModel):
    day: date
    team_id: str
    kind: SessionKind
    village_code: str
    village_name: str | None
    kit_serials: list[str]
    planned_capacity: int
    expected_recordings: int
    backlog: int = Field(
        description="Eligible residents of the village not recorded yet, before this session."
    )
    travel_hours: float = Field(description="One way, from the office (an estimate).")
    home_visit_ids: list[str] = Field(description="Home-visit requests the session serves.")
    late: bool = Field(description="A home visit after its deadline: no team was free before.")
    reason: str


class DayOffOut(BaseModel):
    day: date
    kind: DayOffKind
    name: str


class UnservedHomeVisit(BaseModel):
    id: str
    village_code: str
    deadline: date


class PlanOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    expected_recordings: int
    sessions: list[ProposedSession]
    working_days: list[date]
    days_off: list[DayOffOut]
    unserved_home_visits: list[UnservedHomeVisit] = Field(
        description="Open home-visit requests no team-day was left for."
    )
    idle_teams: list[str] = Field(description="Teams without a working kit: not planned.")
    warnings: list[str]

    model_config = ConfigDict(populate_by_name=True)


def proposal_view(proposal: Proposal) -> ProposedSession:
    return ProposedSession(
        day=proposal.day,
        team_id=proposal.team_id,
        kind=proposal.kind,
        village_code=proposal.village_code,
        village_name=village_name(proposal.village_code),
        kit_serials=list(proposal.kit_serials),
        planned_capacity=proposal.planned_capacity,
        expected_recordings=proposal.expected_recordings,
        backlog=proposal.backlog,
        travel_hours=proposal.travel_hours,
        home_visit_ids=[visit.request_id for visit in proposal.home_visits],
        late=proposal.late,
        reason=proposal.reason,
    )


@router.get(
    "/v1/plan",
    response_model=PlanOut,
    response_model_by_alias=True,
    responses=problem_responses(422),
    summary="Propose where the teams go",
    description=(
        "For each working day from `from` to `to` (at most 92 days; weekends, holidays, "
        "collective leave and closures skipped), which team goes where to record the most "
        "eligible residents not recorded yet. Home visits come first, earliest deadline "
        "first; no session exceeds its working kits' capacity; days a team is already out are "
        "left alone. Each session says why. Nothing is scheduled until the plan is accepted "
        "(`POST /v1/plan:accept`)."
    ),
)
async def propose(
    _: Planner,
    session: ReadSession,
    config: ConfigDep,
    clock: ClockDep,
    from_: Annotated[IsoDate, Query(alias="from", ge=EARLIEST, le=LATEST)],
    to: Annotated[IsoDate, Query(ge=EARLIEST, le=LATEST)],
) -> PlanOut:
    result = await planning.propose(
        session,
        from_,
        to,
        rules=config.planner,
        holidays=config.holidays,
        today=clock.today(),
    )
    return PlanOut(
        from_=result.start,
        to=result.end,
        expected_recordings=result.plan.expected_recordings,
        sessions=[proposal_view(p) for p in result.plan.proposals],
        working_days=result.working_days,
        days_off=[DayOffOut(day=d.day, kind=d.kind, name=d.name) for d in result.days_off],
        unserved_home_visits=[
            UnservedHomeVisit(id=v.request_id, village_code=v.village_code, deadline=v.deadline)
            for v in result.plan.unserved_home_visits
        ],
        idle_teams=result.idle_teams,
        warnings=result.warnings,
    )


class AcceptedProposal(BaseModel):
    """A session of the plan, as `GET /v1/plan` returned it (its other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    day: IsoDate = Field(ge=EARLIEST, le=LATEST)
    team_id: str = Field(max_length=32)
    kind: SessionKind
    village_code: str = Field(pattern=VILLAGE_PATTERN)
    kit_serials: list[SERIAL] | None = Field(default=None, min_length=1, max_length=20)
    expected_recordings: int | None = Field(default=None, ge=0, le=100_000)
    reason: str | None = Field(default=None, max_length=500)
    home_visit_ids: list[Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list, max_length=50
    )


class PlanAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: list[AcceptedProposal] = Field(min_length=1, max_length=1000)


class PlanAccepted(BaseModel):
    created: int
    sessions: list[SessionPublic]


@router.post(
    "/v1/plan:accept",
    response_model=PlanAccepted,
    responses=problem_responses(409, 422),
    summary="Accept a plan: schedule its sessions in one call",
    description=(
        "Every session is checked as `POST /v1/sessions` would, then all are scheduled in one "
        "transaction, or none: a session that no longer fits (a team or kit booked meanwhile, "
        "a closure declared) answers 409 with its problems under `sessions.<index>`; plan "
        "again. Home-visit requests of a session get appointments in it. Accepting the same "
        "plan again schedules nothing new (`created: 0`)."
    ),
)
async def accept(
    body: PlanAccept,
    principal: Planner,
    session: WriteSession,
    runtime: RuntimeDep,
    config: ConfigDep,
    clock: ClockDep,
) -> PlanAccepted:
    proposals = [
        planning.AcceptedSession(
            request=SessionRequest(
                kind=item.kind,
                village_code=item.village_code,
                day=item.day,
                team_id=item.team_id,
                kit_serials=tuple(item.kit_serials) if item.kit_serials else None,
                expected_recordings=item.expected_recordings,
                plan_reason=item.reason,
            ),
            home_visit_ids=tuple(item.home_visit_ids),
        )
        for item in body.sessions
    ]
    written = await planning.accept(
        session,
        runtime.outbox,
        proposals,
        rules=config.scheduling,
        today=clock.today(),
        actor=actor(principal),
    )
    rows = [row for row, _ in written]
    return PlanAccepted(
        created=sum(1 for _, created in written if created),
        sessions=await session_views(session, rows),
    )
