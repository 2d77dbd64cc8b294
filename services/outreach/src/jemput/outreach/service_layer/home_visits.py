"""Home-visit requests for residents who cannot come to a drive: the elderly, the sick or
bedridden, the disabled, and residents with a mental illness (ODGJ). Each has a deadline;
the queue is served earliest deadline first. A request closes when the resident is recorded,
or by hand with an outcome and its reason. Opening and closing publish
`home_visit_requested.v1` and `home_visit_closed.v1` in the same transaction (analytics counts
the deadlines met from them).

Functions here never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import HomeVisit, OutreachSession
from jemput.outreach.domain.model import (
    ELDERLY_AGE,
    HomeVisitOutcome,
    HomeVisitState,
    VisitReason,
    age_on,
)
from jemput.outreach.service_layer import resident_view
from jemput.outreach.service_layer.eligibility import resident_problems
from jemput.outreach.service_layer.problems import (
    conflict,
    field,
    flush_or_conflict,
    invalid,
    not_found,
)
from jemput.shared.events.outreach import HomeVisitClosedV1, HomeVisitRequestedV1
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.timezone import office_day


@dataclass(frozen=True, slots=True)
class VisitRequest:
    nik: str
    reason: VisitReason
    deadline_days: int


@dataclass(frozen=True, slots=True)
class ClosingRecording:
    """A recording that closes its resident's open request, with where it was taken."""

    nik: str
    recording_id: str
    session_id: str
    team_id: str
    kit_serial: str


async def request(
    session: AsyncSession, outbox: Outbox, wanted: VisitRequest, *, now: datetime, actor: str
) -> tuple[HomeVisit, bool]:
    """Open a request; returns (request, created). A resident has at most one open request:
    asking again returns it."""
    existing = await open_request(session, wanted.nik)
    if existing is not None:
        return existing, False
    today = office_day(now)
    deadline = today + timedelta(days=wanted.deadline_days)
    resident = (await resident_view.residents(session, [wanted.nik])).get(wanted.nik)
    problems = resident_problems(resident, deadline)
    elderly = resident is not None and age_on(resident.birth_date, today) >= ELDERLY_AGE
    if not problems and wanted.reason is VisitReason.ELDERLY and not elderly:
        problems.append(field("reason", "not_elderly", f"the resident is under {ELDERLY_AGE}"))
    if problems:
        raise invalid(*problems)
    assert resident is not None
    visit = HomeVisit(
        id=uuid.uuid4().hex,
        nik=wanted.nik,
        village_code=resident.village_code,
        reason=wanted.reason,
        requested_at=now,
        deadline=deadline,
        requested_by=actor,
    )
    session.add(visit)
    await flush_or_conflict(session, "The resident already has an open home-visit request.")
    await outbox.add(
        session,
        HomeVisitRequestedV1(
            home_visit_id=visit.id,
            nik=visit.nik,
            village_code=visit.village_code,
            requested_at=visit.requested_at,
            deadline=visit.deadline,
        ),
    )
    return visit, True


async def open_request(session: AsyncSession, nik: str) -> HomeVisit | None:
    query = select(HomeVisit).where(
        col(HomeVisit.nik) == nik, col(HomeVisit.state) == HomeVisitState.OPEN
    )
    return (await session.exec(query)).first()


async def get(session: AsyncSession, visit_id: str, *, lock: bool = False) -> HomeVisit:
    found = await session.get(HomeVisit, visit_id, with_for_update=lock)
    if found is None:
        raise not_found("home-visit request")
    return found


async def queue(
    session: AsyncSession,
    state: HomeVisitState,
    *,
    limit: int,
    after: tuple[date, str] | None,
    deadline_by: date | None = None,
) -> Sequence[HomeVisit]:
    """Requests in the state, earliest deadline first (then the order they came in)."""
    query = (
        select(HomeVisit)
        .where(col(HomeVisit.state) == state)
        .order_by(col(HomeVisit.deadline), col(HomeVisit.id))
        .limit(limit)
    )
    if deadline_by is not None:
        query = query.where(col(HomeVisit.deadline) <= deadline_by)
    if after is not None:
        deadline, visit_id = after
        query = query.where(
            (col(HomeVisit.deadline) > deadline)
            | ((col(HomeVisit.deadline) == deadline) & (col(HomeVisit.id) > visit_id))
        )
    return (await session.exec(query)).all()


async def close(
    session: AsyncSession,
    outbox: Outbox,
    visit_id: str,
    outcome: HomeVisitOutcome,
    reason: str,
    *,
    now: datetime,
) -> HomeVisit:
    """Close by hand with an outcome other than `recorded` (a recording closes it by itself).
    The same close-out again changes nothing; another outcome for a closed request conflicts."""
    if outcome is HomeVisitOutcome.RECORDED:
        raise invalid(
            field("outcome", "recorded_by_recording", "a recording of the resident closes it")
        )
    visit = await get(session, visit_id, lock=True)
    if visit.state is HomeVisitState.CLOSED:
        if visit.outcome is outcome and visit.outcome_reason == reason:
            return visit
        raise conflict("The home-visit request is already closed.", "home-visit-closed")
    visit.state = HomeVisitState.CLOSED
    visit.outcome = outcome
    visit.outcome_reason = reason
    visit.closed_at = now
    session.add(visit)
    # The session booked to serve it, if any, and its team; the reason stays here.
    serving = await session.get(OutreachSession, visit.session_id) if visit.session_id else None
    await outbox.add(
        session,
        _closed(visit, session_id=visit.session_id, team_id=serving.team_id if serving else None),
    )
    await session.flush()
    return visit


async def close_by_recordings(
    session: AsyncSession, outbox: Outbox, recordings: Iterable[ClosingRecording], *, now: datetime
) -> None:
    """Recordings close the open requests of their residents, served by the recordings'
    sessions (whichever session the request was booked into)."""
    by_nik = {r.nik: r for r in recordings}
    if not by_nik:
        return
    # Few of a batch's residents have a request: find them, then close those only.
    waiting = await session.exec(
        select(HomeVisit).where(
            col(HomeVisit.nik).in_(sorted(by_nik)), col(HomeVisit.state) == HomeVisitState.OPEN
        )
    )
    closed = []
    for visit in waiting:
        by = by_nik[visit.nik]
        visit.state = HomeVisitState.CLOSED
        visit.outcome = HomeVisitOutcome.RECORDED
        visit.recording_id = by.recording_id
        visit.closed_at = now
        session.add(visit)
        closed.append(
            _closed(visit, session_id=by.session_id, team_id=by.team_id, kit_serial=by.kit_serial)
        )
    await outbox.add_many(session, closed)
    await session.flush()


def _closed(
    visit: HomeVisit,
    *,
    session_id: str | None,
    team_id: str | None,
    kit_serial: str | None = None,
) -> HomeVisitClosedV1:
    assert visit.outcome is not None and visit.closed_at is not None
    return HomeVisitClosedV1(
        home_visit_id=visit.id,
        nik=visit.nik,
        village_code=visit.village_code,
        requested_at=visit.requested_at,
        deadline=visit.deadline,
        closed_at=visit.closed_at,
        outcome=visit.outcome.value,
        session_id=session_id,
        team_id=team_id,
        recording_id=visit.recording_id,
        kit_serial=kit_serial,
    )


async def odgj_niks(session: AsyncSession, niks: Iterable[str]) -> set[str]:
    """Residents with a home-visit request for a mental illness (ODGJ), whatever the register
    says: the request is the fresher fact."""
    wanted = sorted(set(niks))
    if not wanted:
        return set()
    query = select(HomeVisit.nik).where(
        col(HomeVisit.nik).in_(wanted), col(HomeVisit.reason) == VisitReason.MENTAL_ILLNESS
    )
    return set(await session.exec(query))
