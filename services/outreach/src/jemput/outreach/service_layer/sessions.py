"""A session's life after scheduling: start, close-out with outcomes, cancel; and reads.

Functions here never commit: the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import false, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import (
    HomeVisit,
    OfficeClosure,
    OutreachSession,
    Recording,
    SessionKit,
)
from jemput.outreach.domain.lifecycle import (
    RecordedBelowUploads,
    RecordingsMissing,
    TooEarly,
    TransitionRefused,
    check_outcomes,
    check_start,
    check_transition,
)
from jemput.outreach.domain.model import HomeVisitState, Outcomes, SessionStatus
from jemput.outreach.service_layer.problems import conflict, field, invalid, not_found
from jemput.shared.events.outreach import SessionCancelledV1, SessionCompletedV1
from jemput.shared.http.problems import ProblemError
from jemput.shared.messaging.outbox import Outbox


async def get(session: AsyncSession, session_id: str, *, lock: bool = False) -> OutreachSession:
    found = await session.get(OutreachSession, session_id, with_for_update=lock)
    if found is None:
        raise not_found("session")
    return found


@dataclass(frozen=True, slots=True)
class SessionFilter:
    start: date | None = None
    end: date | None = None
    team_id: str | None = None
    status: SessionStatus | None = None
    # The areas of a client limited to some (Kemendagri codes); None: every session.
    areas: tuple[str, ...] | None = None


async def search(
    session: AsyncSession, where: SessionFilter, *, limit: int, after: tuple[date, str] | None
) -> Sequence[OutreachSession]:
    """Sessions in (day, id) order, from after the cursor."""
    query = select(OutreachSession).order_by(col(OutreachSession.day), col(OutreachSession.id))
    if where.start is not None:
        query = query.where(col(OutreachSession.day) >= where.start)
    if where.end is not None:
        query = query.where(col(OutreachSession.day) <= where.end)
    if where.team_id is not None:
        query = query.where(col(OutreachSession.team_id) == where.team_id)
    if where.status is not None:
        query = query.where(col(OutreachSession.status) == where.status)
    if where.areas is not None:
        village = col(OutreachSession.village_code)
        query = query.where(
            or_(*(or_(village == area, village.startswith(area + ".")) for area in where.areas))
            if where.areas
            else false()
        )
    if after is not None:
        day, session_id = after
        query = query.where(
            (col(OutreachSession.day) > day)
            | ((col(OutreachSession.day) == day) & (col(OutreachSession.id) > session_id))
        )
    return (await session.exec(query.limit(limit))).all()


async def uploaded_per_kit(session: AsyncSession, session_id: str) -> dict[str, int]:
    rows = await session.exec(
        select(Recording.kit_serial, func.count())
        .where(col(Recording.session_id) == session_id)
        .group_by(col(Recording.kit_serial))
    )
    return {serial: int(count) for serial, count in rows}


async def uploaded_residents(session: AsyncSession, session_id: str) -> int:
    """The residents the session's uploads name, each once."""
    count = await session.exec(
        select(func.count(func.distinct(Recording.nik))).where(
            col(Recording.session_id) == session_id
        )
    )
    return int(count.one())


async def uploaded_counts(session: AsyncSession, session_ids: Sequence[str]) -> dict[str, int]:
    if not session_ids:
        return {}
    rows = await session.exec(
        select(Recording.session_id, func.count())
        .where(col(Recording.session_id).in_(session_ids))
        .group_by(col(Recording.session_id))
    )
    return {session_id: int(count) for session_id, count in rows}


async def start(
    session: AsyncSession, session_id: str, *, today: date, now: datetime
) -> OutreachSession:
    """Planned → in progress, on the session's day or later, unless the office is declared
    closed that day (cancel the session, or revoke the closure). Starting again changes
    nothing."""
    row = await get(session, session_id, lock=True)
    if row.status is SessionStatus.IN_PROGRESS:
        return row
    _transition(row, SessionStatus.IN_PROGRESS)
    try:
        check_start(row.day, today)
    except TooEarly as early:
        raise conflict(str(early), "session-too-early") from None
    # Read after the session's lock: a closure declared at the same moment is seen here, or
    # sees this session under way (`closures.declare`).
    closure = await session.get(OfficeClosure, row.day)
    if closure is not None:
        raise conflict(
            f"The office is declared closed on {row.day.isoformat()} ({closure.reason}); "
            "cancel the session or revoke the closure (DELETE /v1/closures/{day}).",
            "office-closed",
        )
    row.status = SessionStatus.IN_PROGRESS
    row.started_at = now
    session.add(row)
    await session.flush()
    return row


async def close(
    session: AsyncSession,
    outbox: Outbox,
    session_id: str,
    outcomes: Outcomes,
    *,
    kit_counts: Mapping[str, int] | None,
    now: datetime,
) -> OutreachSession:
    """In progress → completed with the team's outcome counts. Refused while a kit reports
    more recordings than have been uploaded for it (they would never reach the register), and
    when `recorded` contradicts the uploads (`check_outcomes`)."""
    row = await get(session, session_id, lock=True)
    if row.status is SessionStatus.COMPLETED and outcomes_of(row) == outcomes:
        return row  # the same close-out sent again
    _transition(row, SessionStatus.COMPLETED)
    uploaded = await uploaded_per_kit(session, row.id)
    if kit_counts:
        await _check_uploads(session, row.id, kit_counts, uploaded)
    await _check_outcomes(session, row.id, outcomes, sum(uploaded.values()))
    row.status = SessionStatus.COMPLETED
    row.closed_at = now
    row.recorded = outcomes.recorded
    row.failed_to_record = outcomes.failed_to_record
    row.under_age = outcomes.under_age
    row.already_has_card = outcomes.already_has_card
    row.absent = outcomes.absent
    session.add(row)
    await outbox.add(
        session,
        SessionCompletedV1(
            session_id=row.id,
            kind=row.kind.value,
            village_code=row.village_code,
            day=row.day,
            team_id=row.team_id,
            completed_at=now,
            recorded=outcomes.recorded,
            failed_to_record=outcomes.failed_to_record,
            under_age=outcomes.under_age,
            already_has_card=outcomes.already_has_card,
            absent=outcomes.absent,
            uploaded_recordings=sum(uploaded.values()),
        ),
    )
    await session.flush()
    return row


async def cancel(
    session: AsyncSession, outbox: Outbox, session_id: str, reason: str, *, now: datetime
) -> OutreachSession:
    """Planned → cancelled: the team and kits are free that day again, and its home visits
    go back to the queue. Cancelling again changes nothing."""
    row = await get(session, session_id, lock=True)
    if row.status is SessionStatus.CANCELLED:
        return row
    _transition(row, SessionStatus.CANCELLED)
    row.status = SessionStatus.CANCELLED
    row.cancel_reason = reason
    row.closed_at = now
    session.add(row)
    connection = await session.connection()
    await connection.execute(
        update(SessionKit).where(col(SessionKit.session_id) == row.id).values(released=True)
    )
    await connection.execute(
        update(HomeVisit)
        .where(col(HomeVisit.session_id) == row.id)
        .where(col(HomeVisit.state) == HomeVisitState.OPEN)
        .values(session_id=None)
    )
    # The free-text reason stays here: events carry no text a person typed.
    await outbox.add(
        session,
        SessionCancelledV1(
            session_id=row.id,
            kind=row.kind.value,
            village_code=row.village_code,
            day=row.day,
            team_id=row.team_id,
            cancelled_at=now,
        ),
    )
    await session.flush()
    return row


def outcomes_of(row: OutreachSession) -> Outcomes | None:
    """The reported outcome counts, or None before close-out."""
    counts = (row.recorded, row.failed_to_record, row.under_age, row.already_has_card, row.absent)
    if any(count is None for count in counts):
        return None
    return Outcomes(*(int(count or 0) for count in counts))


def _transition(row: OutreachSession, wanted: SessionStatus) -> None:
    try:
        check_transition(row.status, wanted)
    except TransitionRefused as refused:
        raise session_status_conflict(str(refused)) from None


def session_status_conflict(detail: str) -> ProblemError:
    return conflict(detail, "session-status")


async def _check_outcomes(
    session: AsyncSession, session_id: str, outcomes: Outcomes, uploaded: int
) -> None:
    try:
        check_outcomes(
            outcomes, uploaded=uploaded, residents=await uploaded_residents(session, session_id)
        )
    except RecordedBelowUploads as wrong:
        raise invalid(field("outcomes.recorded", "recorded_below_uploads", str(wrong))) from None
    except RecordingsMissing as missing:
        raise conflict(
            "More residents are reported recorded than recordings were uploaded for the "
            f"session ({missing}); upload them (POST /v1/recordings:batch) before closing it, "
            "or count a resident whose recording was refused under failed_to_record.",
            "recordings-not-uploaded",
            [field("outcomes.recorded", "recordings_not_uploaded", str(missing))],
        ) from None


async def _check_uploads(
    session: AsyncSession,
    session_id: str,
    kit_counts: Mapping[str, int],
    uploaded: Mapping[str, int],
) -> None:
    held = set(
        await session.exec(
            select(SessionKit.kit_serial).where(col(SessionKit.session_id) == session_id)
        )
    )
    strangers = sorted(set(kit_counts) - held)
    if strangers:
        raise invalid(
            *(
                field(
                    f"kit_counts.{serial}", "kit_not_in_session", "the kit is not in this session"
                )
                for serial in strangers
            )
        )
    behind = [
        field(
            f"kit_counts.{serial}",
            "recordings_not_uploaded",
            f"kit {serial} reports {reported} recordings; {uploaded.get(serial, 0)} uploaded",
        )
        for serial, reported in sorted(kit_counts.items())
        if reported > uploaded.get(serial, 0)
    ]
    if behind:
        raise conflict(
            "Recordings captured on the session's kits have not all been uploaded; upload them "
            "(POST /v1/recordings:batch) before closing the session.",
            "recordings-not-uploaded",
            behind,
        )
