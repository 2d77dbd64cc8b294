"""Move a resident along the e-KTP lifecycle: from events (facts, any order) and from the
national de-duplication results (requests, checked against the allowed transitions).

Never commits: the caller's transaction holds the resident, the history row and the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import Resident, StatusChange
from jemput.residents.domain.model import EktpStatus
from jemput.residents.domain.status import Milestones, check_transition
from jemput.shared.events.residents import (
    DuplicateFlaggedV1,
    EktpStatusChangedV1,
    PrintReadyV1,
    SuketStatusChangedV1,
)
from jemput.shared.messaging.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Cause:
    """Why a status changed: the kind of cause, its id (event or request id) and who did it."""

    kind: str
    id: str | None
    actor: str


def milestones_of(resident: Resident) -> Milestones:
    return Milestones(
        recorded_at=resident.recorded_at,
        duplicate_at=resident.duplicate_at,
        print_ready_at=resident.print_ready_at,
        printed_at=resident.printed_at,
        issued_at=resident.issued_at,
    )


def current_status(resident: Resident, today: date) -> EktpStatus:
    """The status as of today (a birthday may have moved BELUM_WAJIB to BELUM_REKAM)."""
    return milestones_of(resident).status(
        birth_date=resident.birth_date,
        ever_married=resident.marital_status.ever_married,
        as_of=today,
    )


def _set_milestones(resident: Resident, milestones: Milestones) -> None:
    resident.recorded_at = milestones.recorded_at
    resident.duplicate_at = milestones.duplicate_at
    resident.print_ready_at = milestones.print_ready_at
    resident.printed_at = milestones.printed_at
    resident.issued_at = milestones.issued_at


async def record_fact(
    session: AsyncSession,
    outbox: Outbox,
    resident: Resident,
    fact: EktpStatus,
    at: datetime,
    cause: Cause,
    *,
    today: date,
) -> bool:
    """Take in a fact (recorded, print-ready, duplicate, printed, issued); returns whether the
    status changed. Facts arriving late only fill in their milestone."""
    before = current_status(resident, today)
    milestones = milestones_of(resident).with_fact(fact, at)
    _set_milestones(resident, milestones)
    after = milestones.status(
        birth_date=resident.birth_date,
        ever_married=resident.marital_status.ever_married,
        as_of=today,
    )
    holds_suket = resident.suket_outstanding
    if fact is EktpStatus.CARD_ISSUED:
        resident.suket_outstanding = False
    session.add(resident)
    if after == before:
        resident.ektp_status = after  # catch up a BELUM_WAJIB that a birthday made BELUM_REKAM
    else:
        await _transition(session, outbox, resident, before, after, at, cause)
    if holds_suket and not resident.suket_outstanding:
        await _publish_suket(session, outbox, resident, at)  # the hand-over cleared it
    return after != before


async def apply_central_result(
    session: AsyncSession,
    outbox: Outbox,
    resident: Resident,
    result: EktpStatus,
    decided_at: datetime,
    cause: Cause,
    *,
    today: date,
) -> bool:
    """A result of the national de-duplication; refuses a result the lifecycle does not allow
    (raises `TransitionRefused`). The same result twice changes nothing."""
    current = current_status(resident, today)
    if current == result:
        return False
    check_transition(current, result)
    return await record_fact(session, outbox, resident, result, decided_at, cause, today=today)


async def set_suket_outstanding(
    session: AsyncSession, outbox: Outbox, resident: Resident, at: datetime
) -> bool:
    """A SUKET was issued: the flag is set and `suket_status_changed` published (the e-KTP
    status did not change, so no status event)."""
    if resident.suket_outstanding or resident.issued_at is not None:
        return False  # a card already issued makes a late SUKET event moot
    resident.suket_outstanding = True
    session.add(resident)
    await _publish_suket(session, outbox, resident, at)
    return True


async def clear_suket_outstanding(
    session: AsyncSession, outbox: Outbox, resident: Resident, at: datetime
) -> bool:
    """The SUKET was revoked (its holder was flagged a duplicate): the flag is cleared."""
    if not resident.suket_outstanding:
        return False
    resident.suket_outstanding = False
    session.add(resident)
    await _publish_suket(session, outbox, resident, at)
    return True


async def _transition(
    session: AsyncSession,
    outbox: Outbox,
    resident: Resident,
    before: EktpStatus,
    after: EktpStatus,
    at: datetime,
    cause: Cause,
) -> None:
    resident.ektp_status = after
    resident.status_changed_at = at
    resident.updated_at = max(resident.updated_at, at)
    session.add(resident)
    session.add(
        StatusChange(
            nik=resident.nik,
            from_status=before,
            to_status=after,
            changed_at=at,
            cause=cause.kind,
            cause_id=cause.id,
            actor=cause.actor,
        )
    )
    await _publish_change(outbox, resident, before, after, at, session)
    if after is EktpStatus.PRINT_READY_RECORD:
        await outbox.add(
            session,
            PrintReadyV1(
                nik=resident.nik,
                village_code=resident.village_code,
                decided_at=at,
                # The same recording day as the resident's snapshots (see `Milestones`).
                recorded_at=milestones_of(resident).recorded_by,
            ),
        )
    elif after is EktpStatus.DUPLICATE:
        await outbox.add(
            session,
            DuplicateFlaggedV1(nik=resident.nik, village_code=resident.village_code, decided_at=at),
        )


async def _publish_change(
    outbox: Outbox,
    resident: Resident,
    before: EktpStatus | None,
    after: EktpStatus,
    at: datetime,
    session: AsyncSession,
) -> None:
    await outbox.add(
        session,
        EktpStatusChangedV1(
            nik=resident.nik,
            village_code=resident.village_code,
            from_status=before,
            to_status=after,
            suket_outstanding=resident.suket_outstanding,
            changed_at=at,
        ),
    )


async def _publish_suket(
    session: AsyncSession, outbox: Outbox, resident: Resident, at: datetime
) -> None:
    await outbox.add(
        session,
        SuketStatusChangedV1(
            nik=resident.nik,
            village_code=resident.village_code,
            suket_outstanding=resident.suket_outstanding,
            changed_at=at,
            ektp_status=resident.ektp_status,
        ),
    )
