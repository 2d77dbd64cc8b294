"""The planner's inputs read from the database, its proposals, and accepting a plan.

Functions here never commit: the caller's unit of work does."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import (
    Appointment,
    HomeVisit,
    Kit,
    OutreachSession,
    Team,
)
from jemput.outreach.domain.calendar import DayOff, Holiday, WorkingCalendar
from jemput.outreach.domain.model import HomeVisitState, KitCondition, SessionStatus
from jemput.outreach.domain.planner import (
    HomeVisitDemand,
    Plan,
    PlannerRules,
    ScheduledSession,
    TeamDays,
    plan,
)
from jemput.outreach.service_layer import resident_view, scheduling
from jemput.outreach.service_layer.closures import calendar_for
from jemput.outreach.service_layer.problems import conflict, field, invalid, prefixed
from jemput.outreach.service_layer.scheduling import SchedulingRules, SessionRequest
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.messaging.outbox import Outbox

MAX_PLAN_DAYS = 92


@dataclass(frozen=True, slots=True)
class PlanResult:
    start: date
    end: date
    plan: Plan
    working_days: list[date]
    days_off: list[DayOff]
    # Teams left out because none of their kits works.
    idle_teams: list[str]
    warnings: list[str]


async def propose(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    rules: PlannerRules,
    holidays: dict[date, Holiday],
    today: date,
) -> PlanResult:
    calendar = await _calendar(session, start, end, holidays, today=today)
    days = calendar.working_days(start, end)
    teams = await _teams(session)
    scheduled = await _scheduled(session, start, end)
    demand = await resident_view.village_demand(session, start, end)
    visits = await _waiting_home_visits(session)
    # A tenth of a second of pure Python for a regency: in a thread, so the event loop keeps
    # serving other requests meanwhile.
    proposed = await asyncio.to_thread(
        plan, days, teams, demand, rules, home_visits=visits, scheduled=scheduled
    )
    warnings = [
        f"{h.day.isoformat()} ({h.name}) is an {h.status} date, not yet confirmed by the "
        "government's decree: check it before the day"
        for h in calendar.estimated_holidays(start, end)
    ]
    return PlanResult(
        start=start,
        end=end,
        plan=proposed,
        working_days=days,
        days_off=calendar.days_off(start, end),
        idle_teams=sorted(team.team_id for team in teams if not team.working_kits),
        warnings=warnings,
    )


async def _calendar(
    session: AsyncSession, start: date, end: date, holidays: dict[date, Holiday], *, today: date
) -> WorkingCalendar:
    problems: list[FieldProblem] = []
    if start < today:
        problems.append(field("from", "day_in_past", "a plan starts today or later"))
    if end < start:
        problems.append(field("to", "before_from", "`to` is before `from`"))
    elif end - start > timedelta(days=MAX_PLAN_DAYS):
        problems.append(
            field("to", "range_too_long", f"a plan covers at most {MAX_PLAN_DAYS} days")
        )
    calendar = await calendar_for(session, holidays, start, end)
    problems.extend(
        field(
            "to",
            "holidays_unknown",
            f"the holiday table has no entries for {year}: add that year's SKB list first",
        )
        for year in calendar.uncovered_years(start, max(start, end))
    )
    if problems:
        raise invalid(*problems)
    return calendar


async def _teams(session: AsyncSession) -> list[TeamDays]:
    teams = (await session.exec(select(Team).order_by(col(Team.id)))).all()
    kits = await session.exec(
        select(Kit)
        .where(col(Kit.team_id).is_not(None), col(Kit.condition) == KitCondition.WORKING)
        .order_by(col(Kit.serial))
    )
    working: dict[str, list[str]] = {}
    for kit in kits:
        working.setdefault(str(kit.team_id), []).append(kit.serial)
    return [TeamDays(team.id, tuple(working.get(team.id, ()))) for team in teams]


async def _scheduled(session: AsyncSession, start: date, end: date) -> list[ScheduledSession]:
    rows = await session.exec(
        select(OutreachSession)
        .where(col(OutreachSession.day) >= start, col(OutreachSession.day) <= end)
        .where(col(OutreachSession.status) != SessionStatus.CANCELLED)
    )
    return [
        ScheduledSession(row.team_id, row.day, row.kind, row.village_code, row.planned_capacity)
        for row in rows
    ]


async def _waiting_home_visits(session: AsyncSession) -> list[HomeVisitDemand]:
    """Open requests no live session serves yet (a cancelled session hands them back)."""
    rows = await session.exec(
        select(HomeVisit)
        .where(col(HomeVisit.state) == HomeVisitState.OPEN)
        .where(col(HomeVisit.session_id).is_(None))
    )
    return [
        HomeVisitDemand(row.id, row.village_code, row.deadline, row.requested_at) for row in rows
    ]


@dataclass(frozen=True, slots=True)
class AcceptedSession:
    request: SessionRequest
    home_visit_ids: tuple[str, ...] = ()


async def accept(
    session: AsyncSession,
    outbox: Outbox,
    proposals: Sequence[AcceptedSession],
    *,
    rules: SchedulingRules,
    today: date,
    actor: str,
) -> list[tuple[OutreachSession, bool]]:
    """Schedule every proposal, or none: all are checked first, each problem reported under
    `sessions.<index>`, and only a plan that passes whole is written. Accepting the same plan
    again returns its sessions."""
    checked: list[tuple[int, scheduling.CheckedSession]] = []
    problems: list[FieldProblem] = []
    conflicted = False
    for index, proposal in enumerate(proposals):
        try:
            checked.append(
                (index, await scheduling.check(session, proposal.request, rules, today=today))
            )
        except ProblemError as error:
            conflicted = conflicted or error.status == 409
            found = error.errors or [field("", "refused", error.detail or error.title)]
            problems.extend(prefixed(f"sessions.{index}", found))
    within = _clashes_within(checked)
    if problems or within:
        if conflicted or within:
            raise conflict(
                "The plan no longer fits; see `errors`, then plan again.",
                "plan-stale",
                [*problems, *within],
            )
        raise invalid(*problems)
    written = []
    for proposal, (_, item) in zip(proposals, checked, strict=True):
        row = await scheduling.write(session, outbox, item, rules=rules, actor=actor)
        await _serve_home_visits(session, row, proposal.home_visit_ids)
        written.append((row, item.existing is None))
    return written


def _clashes_within(
    checked: Sequence[tuple[int, scheduling.CheckedSession]],
) -> list[FieldProblem]:
    """Two new sessions of one plan putting a team or a kit in two places."""
    problems = []
    teams: dict[tuple[str, date], int] = {}
    kits: dict[tuple[str, date], int] = {}
    for index, item in checked:
        if item.existing is not None:
            continue
        day = item.request.day
        team_key = (item.request.team_id, day)
        if team_key in teams:
            problems.append(
                field(
                    f"sessions.{index}.team_id",
                    "team_double_booked",
                    f"the team is also in session {teams[team_key]} of this plan that day",
                )
            )
        teams.setdefault(team_key, index)
        for serial in item.kit_serials:
            if (serial, day) in kits:
                problems.append(
                    field(
                        f"sessions.{index}.kit_serials",
                        "kit_double_booked",
                        f"kit {serial} is also in session {kits[(serial, day)]} of this plan",
                    )
                )
            kits.setdefault((serial, day), index)
    return problems


async def _serve_home_visits(
    session: AsyncSession, row: OutreachSession, visit_ids: Sequence[str]
) -> None:
    """The proposal's home-visit requests go to its session, with appointments, if they are
    still open and unserved."""
    if not visit_ids:
        return
    visits = await session.exec(
        select(HomeVisit)
        .where(col(HomeVisit.id).in_(sorted(visit_ids)))
        .where(col(HomeVisit.state) == HomeVisitState.OPEN)
        .where(col(HomeVisit.session_id).is_(None))
    )
    for visit in visits:
        visit.session_id = row.id
        session.add(visit)
        if await session.get(Appointment, (row.id, visit.nik)) is None:
            session.add(Appointment(session_id=row.id, nik=visit.nik))
    await session.flush()
