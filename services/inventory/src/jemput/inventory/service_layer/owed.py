"""The cards owed per location (`OwedCount`), kept as the print queue changes jobs and SUKETs.

The forecast needs three counts that used to be computed from every job and SUKET on each
request: the print-ready backlog, the SUKET holders waiting for a blank, and the SUKETs
outstanding. The print queue notes how each change moves them (`note`); the notes of a
transaction are added to the rows just before it commits, as its last statements, in
location order. Being last keeps the counter rows the last lock any transaction takes, so
they add no lock-order cycle with the balances and jobs the print queue locks (a consumer
batch may touch many jobs, then more balances). A rollback drops the notes with the rest.

Savepoints: notes are not undone when only a savepoint rolls back; nothing that notes runs
inside one (the idempotency claim is the only savepoint, and it comes first).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import OwedCount, PrintJob
from jemput.inventory.domain.print_jobs import JobState

_NOTES = "jemput.inventory.owed.notes"
_LISTENING = "jemput.inventory.owed.listening"


@dataclass(frozen=True, slots=True)
class Owed:
    print_ready_backlog: int = 0
    sukets_waiting_for_blank: int = 0
    sukets_outstanding: int = 0


def share(job: PrintJob, *, holds_suket: bool) -> tuple[int, int]:
    """What one job adds to (print-ready backlog, SUKET holders waiting for a blank): an open
    job without a blank is owed, as a SUKET holder if its resident holds an outstanding one,
    as backlog if it is print-ready otherwise."""
    if job.state != JobState.OPEN or job.has_blank:
        return 0, 0
    if holds_suket:
        return 0, 1
    return (1 if job.print_ready else 0), 0


def note_job(
    session: AsyncSession, job: PrintJob, before: tuple[int, int], *, holds_suket: bool
) -> None:
    """The job moved from the share `before` to what it is now."""
    backlog, waiting = share(job, holds_suket=holds_suket)
    note(session, job.location, backlog=backlog - before[0], waiting=waiting - before[1])


def note(
    session: AsyncSession,
    location: str,
    *,
    backlog: int = 0,
    waiting: int = 0,
    outstanding: int = 0,
) -> None:
    """Add to the location's counts when this transaction commits."""
    if not (backlog or waiting or outstanding):
        return
    sync = session.sync_session
    if not sync.info.get(_LISTENING):
        event.listen(sync, "before_commit", _apply)
        event.listen(sync, "after_soft_rollback", _drop)
        sync.info[_LISTENING] = True
    notes: dict[str, list[int]] = sync.info.setdefault(_NOTES, {})
    counts = notes.setdefault(location, [0, 0, 0])
    counts[0] += backlog
    counts[1] += waiting
    counts[2] += outstanding


def _apply(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: the transaction goes on
    notes: dict[str, list[int]] = session.info.pop(_NOTES, {})
    rows = [
        {
            "location": location,
            "print_ready_backlog": backlog,
            "sukets_waiting_for_blank": waiting,
            "sukets_outstanding": outstanding,
        }
        for location, (backlog, waiting, outstanding) in sorted(notes.items())
        if backlog or waiting or outstanding
    ]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for row in rows:
        statement = insert(OwedCount).values(**row)
        added = statement.excluded
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["location"],
                set_={
                    "print_ready_backlog": col(OwedCount.print_ready_backlog)
                    + added.print_ready_backlog,
                    "sukets_waiting_for_blank": col(OwedCount.sukets_waiting_for_blank)
                    + added.sukets_waiting_for_blank,
                    "sukets_outstanding": col(OwedCount.sukets_outstanding)
                    + added.sukets_outstanding,
                },
            )
        )


def _drop(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_NOTES, None)


async def of(session: AsyncSession, location: str) -> Owed:
    """The location's counts as last committed (zero when nothing was ever owed there)."""
    row = (await session.exec(select(OwedCount).where(OwedCount.location == location))).first()
    if row is None:
        return Owed()
    return Owed(row.print_ready_backlog, row.sukets_waiting_for_blank, row.sukets_outstanding)
