"""Days the office declared closed, and the working calendar they make with the holidays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import OfficeClosure, OutreachSession
from jemput.outreach.domain.calendar import Holiday, WorkingCalendar
from jemput.outreach.domain.model import SessionStatus
from jemput.outreach.service_layer.problems import conflict, field, flush_or_conflict, invalid


async def closures_between(session: AsyncSession, start: date, end: date) -> dict[date, str]:
    query = select(OfficeClosure).where(
        col(OfficeClosure.day) >= start, col(OfficeClosure.day) <= end
    )
    return {closure.day: closure.reason for closure in await session.exec(query)}


async def calendar_for(
    session: AsyncSession, holidays: Mapping[date, Holiday], start: date, end: date
) -> WorkingCalendar:
    """The calendar of the range: holidays from the bundled table, closures from the database."""
    return WorkingCalendar(holidays, await closures_between(session, start, end))


async def declare(
    session: AsyncSession, day: date, reason: str, *, actor: str, today: date
) -> tuple[OfficeClosure, bool, list[str]]:
    """Declare the office closed on `day`; returns (closure, created, ids of the sessions on
    that day, which the planners must move or cancel). Declaring it again with the same reason
    changes nothing; with another reason it is a conflict."""
    if day < today:
        raise invalid(field("day", "day_in_past", "a closure is declared for today or later"))
    existing = await session.get(OfficeClosure, day)
    if existing is not None and existing.reason != reason:
        raise conflict(
            "The office is already declared closed that day for another reason.", "closure-exists"
        )
    closure = existing or OfficeClosure(day=day, reason=reason, declared_by=actor)
    if existing is None:
        session.add(closure)
        await flush_or_conflict(session, "The office is already declared closed that day.")
    held = await session.exec(
        select(OutreachSession.id)
        .where(col(OutreachSession.day) == day)
        .where(col(OutreachSession.status).in_([SessionStatus.PLANNED, SessionStatus.IN_PROGRESS]))
        .order_by(col(OutreachSession.id))
    )
    return closure, existing is None, list(held)


async def list_closures(
    session: AsyncSession, start: date, end: date, *, limit: int, after: date | None
) -> Sequence[OfficeClosure]:
    query = (
        select(OfficeClosure)
        .where(col(OfficeClosure.day) >= start, col(OfficeClosure.day) <= end)
        .order_by(col(OfficeClosure.day))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(OfficeClosure.day) > after)
    return (await session.exec(query)).all()
