"""Schedule a session: the checks a new session must pass (the village, a working day, the
team's working kits, nobody in two places) and writing it with its event.

Checking reads only, so a plan's sessions are all checked before any is written. Functions
here never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import Kit, OutreachSession, SessionKit, Team
from jemput.outreach.domain.booking import Booking, ClashKind, KitState, clashes, kit_problems
from jemput.outreach.domain.calendar import Holiday
from jemput.outreach.domain.model import KitCondition, SessionKind, SessionStatus, planned_capacity
from jemput.outreach.service_layer.areas import village_problem
from jemput.outreach.service_layer.closures import calendar_for
from jemput.outreach.service_layer.problems import conflict, field, invalid
from jemput.shared.events.outreach import SessionScheduledV1
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.messaging.outbox import Outbox


@dataclass(frozen=True, slots=True)
class SchedulingRules:
    holidays: Mapping[date, Holiday]
    per_kit_daily_rate: int
    regency_code: str


@dataclass(frozen=True, slots=True)
class SessionRequest:
    kind: SessionKind
    village_code: str
    day: date
    team_id: str
    # None: every working kit of the team.
    kit_serials: tuple[str, ...] | None = None
    expected_recordings: int | None = None
    plan_reason: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedSession:
    """A request that passed every check: what to write, or the session it repeats."""

    request: SessionRequest
    kit_serials: tuple[str, ...]
    planned_capacity: int
    existing: OutreachSession | None = None


async def check(
    session: AsyncSession, request: SessionRequest, rules: SchedulingRules, *, today: date
) -> CheckedSession:
    """Raise a 422 problem for a bad request, a 409 for a team or kit already out that day."""
    problems = await _request_problems(session, request, rules, today=today)
    if problems:
        raise invalid(*problems)
    kits = await _kits(session, request.team_id, request.kit_serials or ())
    serials = request.kit_serials or await _free_working_kits(session, request, kits)
    if not serials:
        raise invalid(
            field(
                "kit_serials",
                "no_working_kits",
                "the team has no working kit free that day: capacity 0",
            )
        )
    wrong = kit_problems(request.team_id, serials, kits)
    if wrong:
        raise invalid(*(field("kit_serials", p.kind.value, p.describe()) for p in wrong))
    bookings = await _bookings(session, request.day, request.team_id, serials)
    repeated = _same_session(bookings, request, serials)
    if repeated is not None:
        return CheckedSession(request, serials, repeated.planned_capacity, repeated)
    found = clashes(request.team_id, request.day, serials, [b for b, _ in bookings])
    if found:
        raise conflict(
            "A team or a kit cannot be in two places on one day.",
            "double-booked",
            [
                field(
                    "team_id" if c.kind is ClashKind.TEAM else "kit_serials",
                    c.kind.value,
                    c.describe(),
                )
                for c in found
            ],
        )
    capacity = planned_capacity(len(serials), rules.per_kit_daily_rate)
    return CheckedSession(request, serials, capacity)


async def write(
    session: AsyncSession,
    outbox: Outbox,
    checked: CheckedSession,
    *,
    rules: SchedulingRules,
    actor: str,
) -> OutreachSession:
    if checked.existing is not None:
        return checked.existing
    request = checked.request
    row = OutreachSession(
        id=uuid.uuid4().hex,
        kind=request.kind,
        village_code=request.village_code,
        day=request.day,
        team_id=request.team_id,
        per_kit_daily_rate=rules.per_kit_daily_rate,
        planned_capacity=checked.planned_capacity,
        expected_recordings=request.expected_recordings,
        plan_reason=request.plan_reason,
        created_by=actor,
    )
    session.add(row)
    session.add_all(
        SessionKit(session_id=row.id, kit_serial=serial, day=request.day)
        for serial in checked.kit_serials
    )
    try:
        await session.flush()
    except IntegrityError:
        # Two requests checked the same free day at once; the unique indexes let one through.
        raise lost_race() from None
    await outbox.add(
        session,
        SessionScheduledV1(
            session_id=row.id,
            kind=row.kind.value,
            village_code=row.village_code,
            day=row.day,
            team_id=row.team_id,
            planned_capacity=row.planned_capacity,
            kit_serials=checked.kit_serials,
        ),
    )
    return row


async def schedule(
    session: AsyncSession,
    outbox: Outbox,
    request: SessionRequest,
    rules: SchedulingRules,
    *,
    today: date,
    actor: str,
) -> tuple[OutreachSession, bool]:
    """Schedule; returns (session, created). The same session again (team, day, kind,
    village and kits) returns the one already scheduled."""
    checked = await check(session, request, rules, today=today)
    row = await write(session, outbox, checked, rules=rules, actor=actor)
    return row, checked.existing is None


def lost_race() -> ProblemError:
    return conflict(
        "Another request booked the team or a kit for that day at the same moment; try again.",
        "double-booked",
    )


async def _request_problems(
    session: AsyncSession, request: SessionRequest, rules: SchedulingRules, *, today: date
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    village = village_problem("village_code", request.village_code, rules.regency_code)
    if village is not None:
        problems.append(village)
    if request.day < today:
        problems.append(field("day", "day_in_past", "sessions are scheduled for today or later"))
    else:
        calendar = await calendar_for(session, rules.holidays, request.day, request.day)
        day_off = calendar.day_off(request.day)
        if not calendar.covers(request.day.year):
            problems.append(
                field(
                    "day",
                    "holidays_unknown",
                    f"the holiday table has no entries for {request.day.year}: add that year's "
                    "SKB list to reference/holidays.csv before scheduling in it",
                )
            )
        elif day_off is not None:
            problems.append(field("day", "not_a_working_day", day_off.describe()))
    if await session.get(Team, request.team_id) is None:
        problems.append(field("team_id", "unknown_team", "no team with this id"))
    return problems


async def _kits(session: AsyncSession, team_id: str, named: Sequence[str]) -> dict[str, KitState]:
    """The team's kits and any other kit the request names."""
    query = select(Kit).where(or_(col(Kit.team_id) == team_id, col(Kit.serial).in_(named)))
    return {
        kit.serial: KitState(kit.serial, kit.team_id, KitCondition(kit.condition))
        for kit in await session.exec(query)
    }


async def _free_working_kits(
    session: AsyncSession, request: SessionRequest, kits: Mapping[str, KitState]
) -> tuple[str, ...]:
    """The team's working kits, less those another session holds that day (a kit moved from
    a team stays with the sessions it was already booked for)."""
    own = [s for s, kit in kits.items() if kit.team_id == request.team_id and kit.working]
    held = await session.exec(
        select(SessionKit.kit_serial)
        .join(OutreachSession, col(OutreachSession.id) == col(SessionKit.session_id))
        .where(col(SessionKit.day) == request.day, col(SessionKit.released).is_(False))
        .where(col(SessionKit.kit_serial).in_(own))
        .where(col(OutreachSession.team_id) != request.team_id)
    )
    elsewhere = set(held)
    return tuple(sorted(serial for serial in own if serial not in elsewhere))


async def _bookings(
    session: AsyncSession, day: date, team_id: str, serials: Sequence[str]
) -> list[tuple[Booking, OutreachSession]]:
    """Sessions holding the team or any of the kits on `day`, with their held kits."""
    holding_kits = select(SessionKit.session_id).where(
        col(SessionKit.day) == day,
        col(SessionKit.released).is_(False),
        col(SessionKit.kit_serial).in_(serials),
    )
    rows = (
        await session.exec(
            select(OutreachSession)
            .where(col(OutreachSession.day) == day)
            .where(col(OutreachSession.status) != SessionStatus.CANCELLED)
            .where(
                or_(
                    col(OutreachSession.team_id) == team_id,
                    col(OutreachSession.id).in_(holding_kits),
                )
            )
        )
    ).all()
    held = await held_kits(session, [row.id for row in rows])
    return [
        (Booking(row.id, row.team_id, row.day, frozenset(held.get(row.id, ()))), row)
        for row in rows
    ]


async def held_kits(session: AsyncSession, session_ids: Sequence[str]) -> dict[str, list[str]]:
    """The kits each session holds (none once cancelled), in serial order."""
    if not session_ids:
        return {}
    rows = await session.exec(
        select(SessionKit.session_id, SessionKit.kit_serial)
        .where(col(SessionKit.session_id).in_(session_ids))
        .where(col(SessionKit.released).is_(False))
        .order_by(col(SessionKit.kit_serial))
    )
    kits: dict[str, list[str]] = {}
    for session_id, serial in rows:
        kits.setdefault(session_id, []).append(serial)
    return kits


def _same_session(
    bookings: Sequence[tuple[Booking, OutreachSession]],
    request: SessionRequest,
    serials: Sequence[str],
) -> OutreachSession | None:
    for booking, row in bookings:
        if (
            row.team_id == request.team_id
            and row.kind is request.kind
            and row.village_code == request.village_code
            and booking.kit_serials == frozenset(serials)
        ):
            return row
    return None
