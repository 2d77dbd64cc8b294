"""Reads: the ledger with filters, the print queue by state, SUKETs outstanding and expiring.

Lists are keyset-paged: each takes the sort key of the last row it gave (`after`) and a limit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import LedgerEntry, PrintJob, Suket
from jemput.inventory.domain.ledger import EntryKind
from jemput.inventory.domain.print_jobs import JobState, QueueState
from jemput.shared.timezone import OFFICE_TIMEZONE

_OFFICE_ZONE = ZoneInfo(OFFICE_TIMEZONE)


def start_of_office_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_OFFICE_ZONE)


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    locations: Collection[str] | None = None  # None: every location
    kind: EntryKind | None = None
    first_day: date | None = None  # office days (WIB), both included
    last_day: date | None = None
    request_id: str | None = None


async def ledger_entries(
    session: AsyncSession, filters: LedgerFilter, *, limit: int, after_id: int | None
) -> Sequence[LedgerEntry]:
    """Entries in ledger order (by id)."""
    query = select(LedgerEntry).order_by(col(LedgerEntry.id)).limit(limit)
    if filters.locations is not None:
        query = query.where(col(LedgerEntry.location).in_(list(filters.locations)))
    if filters.kind is not None:
        query = query.where(LedgerEntry.kind == filters.kind)
    if filters.first_day is not None:
        query = query.where(col(LedgerEntry.recorded_at) >= start_of_office_day(filters.first_day))
    if filters.last_day is not None:
        end = start_of_office_day(filters.last_day + timedelta(days=1))
        query = query.where(col(LedgerEntry.recorded_at) < end)
    if filters.request_id is not None:
        query = query.where(LedgerEntry.request_id == filters.request_id)
    if after_id is not None:
        query = query.where(col(LedgerEntry.id) > after_id)
    return (await session.exec(query)).all()


async def reversed_by(session: AsyncSession, entry_ids: Collection[int]) -> dict[int, int]:
    """For each entry of `entry_ids` that was reversed: the id of the entry that reversed it."""
    if not entry_ids:
        return {}
    result = await session.exec(
        select(LedgerEntry.reverses_id, LedgerEntry.id).where(
            col(LedgerEntry.reverses_id).in_(list(entry_ids))
        )
    )
    return {int(original): int(reversal or 0) for original, reversal in result.all() if original}


def _queue_condition(state: QueueState) -> ColumnElement[bool]:
    is_open = col(PrintJob.state) == JobState.OPEN
    has_blank = col(PrintJob.has_blank).is_(True)
    no_blank = col(PrintJob.has_blank).is_(False)
    if state is QueueState.WAITING_FOR_BLANK:
        return and_(is_open, no_blank)
    if state is QueueState.WAITING_FOR_CLEARANCE:
        return and_(is_open, has_blank, col(PrintJob.print_ready).is_(False))
    if state is QueueState.PRINTABLE:
        return and_(is_open, has_blank, col(PrintJob.print_ready).is_(True))
    return col(PrintJob.state) == JobState(state.value.upper())


async def print_jobs(
    session: AsyncSession,
    *,
    state: QueueState | None,
    location: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> Sequence[PrintJob]:
    """Jobs in queue order: by recording time (the order waiting jobs get blanks in)."""
    query = select(PrintJob).order_by(col(PrintJob.recorded_at), col(PrintJob.id)).limit(limit)
    if state is not None:
        query = query.where(_queue_condition(state))
    if location is not None:
        query = query.where(PrintJob.location == location)
    if after is not None:
        at, job_id = after
        query = query.where(
            or_(
                col(PrintJob.recorded_at) > at,
                and_(col(PrintJob.recorded_at) == at, col(PrintJob.id) > job_id),
            )
        )
    return (await session.exec(query)).all()


def outstanding() -> ColumnElement[bool]:
    """The one definition of a SUKET outstanding, for `/v1/sukets` and the forecast alike (and
    analytics' and residents' flags): held by a resident waiting for a card, i.e. not cleared
    by the hand-over and not revoked (a resident flagged duplicate is not cleared as one
    identity). An expired one is still outstanding: the card is still owed."""
    return and_(col(Suket.cleared_at).is_(None), col(Suket.revoked_at).is_(None))


# Job ids per statement: a delivery of blanks serves as many waiting jobs as it has blanks
# (40,000 for a regency), and one `IN` of them all passed the drivers' limit on bound
# parameters (32,767 for asyncpg, 32,766 for SQLite): the receipt failed.
_IDS_PER_STATEMENT = 10_000


async def outstanding_sukets(session: AsyncSession, job_ids: Collection[str]) -> dict[str, str]:
    """The number of each job's SUKET not yet cleared, for the jobs that have one."""
    wanted = list(job_ids)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _IDS_PER_STATEMENT):
        chunk = wanted[start : start + _IDS_PER_STATEMENT]
        result = await session.exec(
            select(Suket.job_id, Suket.number).where(col(Suket.job_id).in_(chunk), outstanding())
        )
        found.update(result.all())
    return found


class SuketStatus(StrEnum):
    OUTSTANDING = "outstanding"  # not cleared nor revoked, expired or not
    EXPIRED = "expired"  # outstanding and past its validity: the resident needs a new one
    CLEARED = "cleared"  # the card was handed over
    REVOKED = "revoked"  # its holder was flagged a duplicate


async def sukets(
    session: AsyncSession,
    *,
    status: SuketStatus,
    now: datetime,
    expiring_within: timedelta | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> Sequence[Suket]:
    """SUKETs by expiry (the soonest first)."""
    query = select(Suket).order_by(col(Suket.valid_until), col(Suket.number)).limit(limit)
    condition: ColumnElement[bool]
    if status is SuketStatus.OUTSTANDING:
        condition = outstanding()
        if expiring_within is not None:
            condition = and_(
                condition,
                col(Suket.valid_until) >= now,
                col(Suket.valid_until) < now + expiring_within,
            )
    elif status is SuketStatus.EXPIRED:
        condition = and_(outstanding(), col(Suket.valid_until) < now)
    elif status is SuketStatus.REVOKED:
        condition = col(Suket.revoked_at).is_not(None)
    else:
        condition = col(Suket.cleared_at).is_not(None)
    query = query.where(condition)
    if after is not None:
        valid_until, number = after
        query = query.where(
            or_(
                col(Suket.valid_until) > valid_until,
                and_(col(Suket.valid_until) == valid_until, col(Suket.number) > number),
            )
        )
    return (await session.exec(query)).all()
