"""Days the office declared closed, and the working calendar they make with the holidays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import OfficeClosure, OutreachSession
from jemput.outreach.domain.calendar import Holiday, WorkingCalendar
from jemput.outreach.domain.lifecycle import took_place
from jemput.outreach.domain.model import SessionStatus
from jemput.outreach.service_layer.problems import conflict, field, flush_or_conflict, invalid
from jemput.outreach.service_layer.sessions import uploaded_counts
from jemput.shared.http.problems import ProblemError


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
    """Declare the office closed on `day`; returns (closure, created, ids of the sessions still
    planned that day, which the planners must cancel and schedule elsewhere: they cannot start
    while the day is closed). Refused while a session that day is under way, completed or holds
    recordings (`took_place`). Declaring it again with the same reason changes nothing; with
    another reason it is a conflict."""
    if day < today:
        raise invalid(field("day", "day_in_past", "a closure is declared for today or later"))
    # Locked, so that a session starting at the same moment either sees the closure or is
    # seen here as under way (`sessions.start` locks the session, then reads the closure).
    on_that_day = (
        await session.exec(
            select(OutreachSession)
            .where(col(OutreachSession.day) == day)
            .order_by(col(OutreachSession.id))
            .with_for_update()
        )
    ).all()
    uploads = await uploaded_counts(session, [row.id for row in on_that_day])
    held = [row for row in on_that_day if took_place(row.status, uploads.get(row.id, 0))]
    if held:
        raise conflict(
            f"The office cannot be declared closed on {day.isoformat()}: sessions took place "
            f"that day ({', '.join(row.id for row in held)}).",
            "sessions-took-place",
            [
                field(
                    "day",
                    "session_took_place",
                    f"session {row.id} is {row.status}; recordings uploaded: "
                    f"{uploads.get(row.id, 0)}",
                )
                for row in held
            ],
        )
    existing = await session.get(OfficeClosure, day)
    if existing is not None and existing.reason != reason:
        raise conflict(
            "The office is already declared closed that day for another reason.", "closure-exists"
        )
    closure = existing or OfficeClosure(day=day, reason=reason, declared_by=actor)
    if existing is None:
        session.add(closure)
        await flush_or_conflict(session, "The office is already declared closed that day.")
    planned = [row.id for row in on_that_day if row.status is SessionStatus.PLANNED]
    return closure, existing is None, planned


async def revoke(session: AsyncSession, day: date, *, today: date) -> OfficeClosure:
    """Open the office again on `day`: sessions can be scheduled, and planned ones started,
    that day. A past closure is the record of a day the office was shut and stays."""
    if day < today:
        raise invalid(field("day", "day_in_past", "a closure is revoked for today or later"))
    closure = await session.get(OfficeClosure, day, with_for_update=True)
    if closure is None:
        raise ProblemError(
            404, "Not Found", f"The office is not declared closed on {day.isoformat()}."
        )
    await session.delete(closure)
    await session.flush()
    return closure


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
