"""Book residents into sessions, checked against the residents read model.

Functions here never commit: the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import Appointment, HomeVisit, OutreachSession
from jemput.outreach.domain.model import HomeVisitState, SessionKind, SessionStatus
from jemput.outreach.service_layer import resident_view, sessions
from jemput.outreach.service_layer.eligibility import resident_problems
from jemput.outreach.service_layer.problems import conflict, flush_or_conflict, invalid

OPEN_STATUSES = (SessionStatus.PLANNED, SessionStatus.IN_PROGRESS)


async def book(
    session: AsyncSession,
    session_id: str,
    nik: str,
    *,
    visible: Callable[[str], bool] = lambda _village: True,
) -> tuple[Appointment, bool]:
    """Book; returns (appointment, created). Booking the same resident again returns it.
    A resident whose village the caller may not see (`visible`) is answered as unknown: a
    client limited to areas cannot probe the register by NIK, nor book residents elsewhere."""
    row = await sessions.get(session, session_id, lock=True)
    existing = await session.get(Appointment, (session_id, nik))
    if existing is not None:
        return existing, False
    if row.status not in OPEN_STATUSES:
        raise sessions.session_status_conflict(
            f"the session is {row.status}; residents are booked into planned sessions"
        )
    found = (await resident_view.residents(session, [nik])).get(nik)
    if found is not None and not visible(found.village_code):
        found = None
    problems = resident_problems(found, row.day)
    if problems:
        raise invalid(*problems)
    if await _booked_elsewhere(session, nik, session_id):
        raise conflict(
            "The resident already has an appointment in another open session.", "already-booked"
        )
    booked = (
        await session.exec(
            select(func.count())
            .select_from(Appointment)
            .where(col(Appointment.session_id) == row.id)
        )
    ).one()
    if booked >= row.planned_capacity:
        raise conflict(
            f"The session is full: {booked} of its capacity {row.planned_capacity} booked.",
            "session-full",
        )
    appointment = Appointment(session_id=row.id, nik=nik)
    session.add(appointment)
    if row.kind is SessionKind.HOME_VISIT:
        # The resident's waiting home-visit request is served by this session.
        await (await session.connection()).execute(
            update(HomeVisit)
            .where(col(HomeVisit.nik) == nik)
            .where(col(HomeVisit.state) == HomeVisitState.OPEN)
            .where(col(HomeVisit.session_id).is_(None))
            .values(session_id=row.id)
        )
    await flush_or_conflict(session, "The resident is already booked into this session.")
    return appointment, True


async def of_session(
    session: AsyncSession, session_id: str, *, limit: int, after: str | None
) -> Sequence[Appointment]:
    await sessions.get(session, session_id)
    query = (
        select(Appointment)
        .where(col(Appointment.session_id) == session_id)
        .order_by(col(Appointment.nik))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Appointment.nik) > after)
    return (await session.exec(query)).all()


async def _booked_elsewhere(session: AsyncSession, nik: str, session_id: str) -> bool:
    query = (
        select(Appointment.session_id)
        .join(OutreachSession, col(OutreachSession.id) == col(Appointment.session_id))
        .where(col(Appointment.nik) == nik)
        .where(col(Appointment.session_id) != session_id)
        .where(col(OutreachSession.status).in_(OPEN_STATUSES))
        .where(col(Appointment.recording_id).is_(None))
    )
    return (await session.exec(query)).first() is not None
