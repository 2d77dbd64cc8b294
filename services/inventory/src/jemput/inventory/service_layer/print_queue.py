"""The print queue: recordings create jobs that reserve blanks; with no blank left the resident
gets a SUKET; arriving blanks serve waiting jobs in order of recording; duplicates release theirs.

Functions never commit: the caller's transaction (a consumer batch or a request) holds the job,
the ledger entries and the outgoing events together.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import LedgerEntry, PrintJob, Suket
from jemput.inventory.domain.ledger import Entry, EntryKind
from jemput.inventory.service_layer import ledger
from jemput.shared.events.inventory import CardIssuedV1, CardPrintedV1, SuketIssuedV1
from jemput.shared.messaging.dead_letter import SafeError
from jemput.shared.messaging.outbox import Outbox

SUKET_VALIDITY = timedelta(days=182)  # six months


class PrintRefused(SafeError):
    pass


async def open_job(session: AsyncSession, nik: str) -> PrintJob | None:
    result = await session.exec(
        select(PrintJob).where(PrintJob.nik == nik, PrintJob.state == "OPEN").with_for_update()
    )
    return result.first()


async def on_recorded(
    session: AsyncSession,
    outbox: Outbox,
    *,
    nik: str,
    village_code: str | None,
    recorded_at: datetime,
    actor: str,
) -> PrintJob:
    """A recording: one open job per resident (a re-recording keeps the job it has)."""
    job = await open_job(session, nik)
    if job is not None:
        return job
    job = PrintJob(
        id=str(uuid.uuid4()), nik=nik, village_code=village_code, recorded_at=recorded_at
    )
    session.add(job)
    await session.flush()
    if not await _try_reserve(session, outbox, job, actor):
        await _issue_suket(session, outbox, job, recorded_at)
    return job


async def on_print_ready(
    session: AsyncSession, outbox: Outbox, *, nik: str, decided_at: datetime, actor: str
) -> PrintJob:
    job = await open_job(session, nik)
    if job is None:  # the print-ready result overtook the recording event: the job starts here
        job = await on_recorded(
            session, outbox, nik=nik, village_code=None, recorded_at=decided_at, actor=actor
        )
    job.print_ready = True
    session.add(job)
    return job


async def on_duplicate(
    session: AsyncSession, outbox: Outbox, *, nik: str, actor: str
) -> PrintJob | None:
    """The recording matched someone else's: drop the job and give its blank back."""
    job = await open_job(session, nik)
    if job is None:
        return None
    if job.has_blank:
        await ledger.append(
            session,
            Entry(EntryKind.RELEASED, 1, job.location),
            actor=actor,
            job_id=job.id,
            outbox=outbox,
        )
        job.has_blank = False
    job.state = "DROPPED"
    session.add(job)
    return job


async def receive_blanks(
    session: AsyncSession,
    outbox: Outbox,
    *,
    quantity: int,
    location: str,
    reference: str,
    serial_from: str | None,
    serial_to: str | None,
    actor: str,
) -> tuple[LedgerEntry, int]:
    """Blanks from the ministry; waiting jobs take them in order of recording. Returns the
    entry and how many waiting jobs got a blank."""
    entry = await ledger.append(
        session,
        Entry(EntryKind.RECEIVED, quantity, location),
        actor=actor,
        reference=reference,
        serial_from=serial_from,
        serial_to=serial_to,
        outbox=outbox,
    )
    balance = await ledger.locked_balance(session, location)
    free = balance.on_hand - balance.reserved  # released blanks count too
    waiting = await session.exec(
        select(PrintJob)
        .where(
            PrintJob.state == "OPEN",
            col(PrintJob.has_blank).is_(False),
            PrintJob.location == location,
        )
        .order_by(col(PrintJob.recorded_at), col(PrintJob.id))
        .limit(free)
        .with_for_update()
    )
    served = 0
    for job in waiting.all():
        if not await _try_reserve(session, outbox, job, actor):
            break
        served += 1
    return entry, served


async def print_card(
    session: AsyncSession,
    outbox: Outbox,
    *,
    job_id: str,
    card_serial: str,
    at: datetime,
    actor: str,
) -> PrintJob:
    """An operator prints: the job's reserved blank is consumed. The job row is locked, so two
    operators printing the same card get one success and one refusal."""
    job = await _locked_job(session, job_id)
    if job.state != "OPEN":
        raise PrintRefused(f"the job is {job.state.lower()}, not waiting to be printed")
    if not job.print_ready:
        raise PrintRefused("the recording is not cleared for printing (print-ready) yet")
    if not job.has_blank:
        raise PrintRefused("no blank is reserved for this job")
    await ledger.append(
        session,
        Entry(EntryKind.CONSUMED, 1, job.location),
        actor=actor,
        job_id=job.id,
        serial_from=card_serial,
        serial_to=card_serial,
        outbox=outbox,
    )
    job.state, job.has_blank, job.card_serial, job.printed_at = "PRINTED", False, card_serial, at
    session.add(job)
    await outbox.add(
        session,
        CardPrintedV1(
            nik=job.nik,
            job_id=job.id,
            blank_serial=card_serial,
            location=job.location,
            printed_at=at,
        ),
    )
    return job


async def spoil(
    session: AsyncSession, outbox: Outbox, *, job_id: str, actor: str, note: str
) -> PrintJob:
    """The print failed: the blank is lost and the job goes back to the queue for another."""
    job = await _locked_job(session, job_id)
    if job.state != "OPEN" or not job.has_blank:
        raise PrintRefused("only a job holding a blank can spoil it")
    await ledger.append(
        session,
        Entry(EntryKind.SPOILED, 1, job.location),
        actor=actor,
        job_id=job.id,
        note=note,
        outbox=outbox,
    )
    job.has_blank = False
    session.add(job)
    await _try_reserve(session, outbox, job, actor)
    return job


async def issue_card(
    session: AsyncSession, outbox: Outbox, *, job_id: str, at: datetime, actor: str
) -> PrintJob:
    job = await _locked_job(session, job_id)
    if job.state != "PRINTED":
        raise PrintRefused("only a printed card can be handed over")
    job.state, job.issued_at = "ISSUED", at
    session.add(job)
    sukets = await session.exec(
        select(Suket).where(Suket.nik == job.nik, col(Suket.cleared_at).is_(None))
    )
    for suket in sukets.all():
        suket.cleared_at = at
        session.add(suket)
    await outbox.add(session, CardIssuedV1(nik=job.nik, job_id=job.id, issued_at=at))
    return job


async def _locked_job(session: AsyncSession, job_id: str) -> PrintJob:
    result = await session.exec(select(PrintJob).where(PrintJob.id == job_id).with_for_update())
    job = result.first()
    if job is None:
        raise PrintRefused("no print job with this id")
    return job


async def _try_reserve(session: AsyncSession, outbox: Outbox, job: PrintJob, actor: str) -> bool:
    try:
        await ledger.append(
            session,
            Entry(EntryKind.RESERVED, 1, job.location),
            actor=actor,
            job_id=job.id,
            outbox=outbox,
        )
    except ledger.StockRefused:
        return False
    job.has_blank = True
    session.add(job)
    return True


async def _issue_suket(session: AsyncSession, outbox: Outbox, job: PrintJob, at: datetime) -> Suket:
    suket = Suket(
        number=f"SUKET/{at:%Y%m%d}/{job.id[:8].upper()}",
        nik=job.nik,
        job_id=job.id,
        issued_at=at,
        valid_until=at + SUKET_VALIDITY,
    )
    session.add(suket)
    await outbox.add(
        session,
        SuketIssuedV1(
            nik=job.nik,
            suket_number=suket.number,
            issued_at=at,
            valid_until=suket.valid_until.date(),
        ),
    )
    return suket
