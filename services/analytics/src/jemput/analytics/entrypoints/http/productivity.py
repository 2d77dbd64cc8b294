"""`GET /v1/outreach/productivity`: sessions and recordings per team-day and per working
kit-day, and home-visit deadlines met, per team, kit and session, over a range of days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from jemput.analytics.entrypoints.http.deps import (
    CSV_RESPONSES,
    EARLIEST,
    LATEST,
    AnalyticsReader,
    FormatParam,
    area_query,
    area_seen_by,
    models_csv,
    settings_of,
    wants_csv,
)
from jemput.analytics.service_layer import productivity as productivity_service
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import ReadSession
from jemput.shared.http.types import IsoDate
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1/outreach", tags=["outreach"])

MAX_DAYS = 366


class UnitOut(BaseModel):
    id: str
    recordings: int
    days: int
    sessions_completed: int
    recordings_per_day: float | None
    home_visit_deadlines_met: int
    home_visits_closed_late: int


class SessionOut(BaseModel):
    session_id: str
    day: date
    kind: str
    village_code: str
    team_id: str
    state: str
    kit_serials: list[str]
    planned_capacity: int | None
    recordings: int
    reported_recorded: int | None
    home_visit_deadlines_met: int = Field(
        description="Home-visit requests due in the range that this session closed in time."
    )


class ProductivityOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    area: str
    from_: date = Field(alias="from")
    to: date
    sessions_scheduled: int
    sessions_completed: int
    sessions_cancelled: int
    recordings: int
    team_days: int
    working_kit_days: int
    recordings_per_team_day: float | None
    recordings_per_working_kit_day: float | None
    home_visit_sessions_completed: int
    home_visits_due: int = Field(description="Home-visit requests whose deadline is in the range.")
    home_visit_deadlines_met: int = Field(
        description="Of those, closed (whatever the outcome) on or before the deadline (WIB)."
    )
    home_visits_closed_late: int = Field(description="Closed after their deadline.")
    home_visits_open_past_deadline: int = Field(
        description="Still open, their deadline before today."
    )
    teams: list[UnitOut]
    kits: list[UnitOut]
    sessions: list[SessionOut]


def _unit(item: productivity_service.UnitProductivity) -> UnitOut:
    per_day = item.per_day
    return UnitOut(
        id=item.key,
        recordings=item.recordings,
        days=len(item.days),
        sessions_completed=item.sessions,
        recordings_per_day=round(per_day, 2) if per_day is not None else None,
        home_visit_deadlines_met=item.home_visit_deadlines_met,
        home_visits_closed_late=item.home_visits_closed_late,
    )


def _r(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None


@router.get(
    "/productivity",
    response_model=ProductivityOut,
    responses=CSV_RESPONSES,
    summary="Outreach productivity: recordings per team-day and per working kit-day",
    description="Over the days `from`..`to` (default: the last 7 days). A team-day is a team "
    "out on a day (a completed session or recordings); a working kit-day a kit booked for a "
    "completed session or recording that day. Home visits: the requests whose deadline falls "
    "in the range; a deadline is met when the request closed, whatever the outcome, on or before "
    "its deadline (office days, WIB), and counts for the team, kit and session that served it "
    "when known. CSV: one row per session.",
)
async def read_productivity(
    request: Request,
    principal: AnalyticsReader,
    session: ReadSession,
    first: Annotated[
        IsoDate | None,
        Query(alias="from", ge=EARLIEST, le=LATEST, description="First day"),
    ] = None,
    last: Annotated[
        IsoDate | None,
        Query(alias="to", ge=EARLIEST, le=LATEST, description="Last day (default: today)"),
    ] = None,
    area: Annotated[
        str | None, area_query("Kemendagri code of the sessions' area; default: the regency")
    ] = None,
    format_: FormatParam = None,
) -> ProductivityOut | Response:
    found = area_seen_by(principal, area or settings_of(request).regency_code)
    today = today_in_office()
    last = last or today
    first = first or last - timedelta(days=6)
    if first > last or (last - first).days >= MAX_DAYS:
        raise ProblemError(
            422,
            "Unprocessable Content",
            "The range of days is not valid.",
            errors=[
                FieldProblem(
                    field="from",
                    code="bad_range",
                    reason=f"from must be on or before to, at most {MAX_DAYS} days apart",
                )
            ],
        )
    report = await productivity_service.productivity(
        await session.connection(), found, first, last, today=today
    )
    out = ProductivityOut(
        area=found.code,
        from_=first,
        to=last,
        sessions_scheduled=report.sessions_scheduled,
        sessions_completed=report.sessions_completed,
        sessions_cancelled=report.sessions_cancelled,
        recordings=report.recordings,
        team_days=report.team_days,
        working_kit_days=report.kit_days,
        recordings_per_team_day=_r(report.per_team_day),
        recordings_per_working_kit_day=_r(report.per_kit_day),
        home_visit_sessions_completed=report.home_visit_sessions,
        home_visits_due=report.home_visits.due,
        home_visit_deadlines_met=report.home_visits.met,
        home_visits_closed_late=report.home_visits.closed_late,
        home_visits_open_past_deadline=report.home_visits.open_past_deadline,
        teams=[_unit(t) for t in report.teams],
        kits=[_unit(k) for k in report.kits],
        sessions=[
            SessionOut(
                session_id=s.session_id,
                day=s.day,
                kind=s.kind,
                village_code=s.village_code,
                team_id=s.team_id,
                state=s.state,
                kit_serials=list(s.kit_serials),
                planned_capacity=s.planned_capacity,
                recordings=s.recordings,
                reported_recorded=s.reported_recorded,
                home_visit_deadlines_met=s.home_visit_deadlines_met,
            )
            for s in report.sessions
        ],
    )
    if wants_csv(request, format_):
        return models_csv(
            f"productivity-{first.isoformat()}-{last.isoformat()}.csv", SessionOut, out.sessions
        )
    return out
