"""The print queue: recordings create jobs that reserve blanks; with no blank left the resident
gets a SUKET; blanks that become available (received, transferred in, released, found in a
count) serve waiting jobs in order of recording; duplicates release theirs, and their SUKETs
are revoked (a resident flagged duplicate is not cleared as one identity).

A blank is known by its serial: only received serials can be printed on, and a serial becomes
a card or a spoiled blank once (`UsedBlank`'s key), whichever location prints it.

Functions never commit: the caller's transaction (a consumer batch or a request) holds the job,
the ledger entries and the outgoing events together.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import BlankBatch, LedgerEntry, PrintJob, Suket, UsedBlank
from jemput.inventory.domain.ledger import Entry, EntryKind
from jemput.inventory.domain.print_jobs import JobState, print_refusal
from jemput.inventory.domain.serials import Serial, SerialRange, SerialRangeInvalid
from jemput.inventory.service_layer import daily, ledger, owed, queries
from jemput.shared.events.inventory import (
    CardIssuedV1,
    CardPrintedV1,
    CardSpoiledV1,
    SuketIssuedV1,
    SuketRevokedV1,
)
from jemput.shared.messaging.dead_letter import SafeError
from jemput.shared.messaging.outbox import Outbox

SUKET_VALIDITY = timedelta(days=182)  # six months
OFFICE = "office"  # where cards are printed, and the location of every print job


class PrintRefused(SafeError):
    pass


class JobNotFound(PrintRefused):
    pass


@dataclass(frozen=True, slots=True)
class Recording:
    nik: str
    village_code: str | None
    recorded_at: datetime


async def open_job(session: AsyncSession, nik: str) -> PrintJob | None:
    return (await open_jobs(session, [nik])).get(nik)


async def open_jobs(session: AsyncSession, niks: Sequence[str]) -> dict[str, PrintJob]:
    result = await session.exec(
        select(PrintJob)
        .where(col(PrintJob.nik).in_(list(niks)), PrintJob.state == JobState.OPEN)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {job.nik: job for job in result.all()}


async def on_recorded(
    session: AsyncSession,
    outbox: Outbox,
    *,
    nik: str,
    village_code: str | None,
    recorded_at: datetime,
    actor: str,
    at: datetime | None = None,
) -> PrintJob:
    """A recording: one open job per resident (a re-recording keeps the job it has)."""
    jobs = await on_recordings(
        session, outbox, [Recording(nik, village_code, recorded_at)], actor=actor, at=at
    )
    return jobs[nik]


async def on_recordings(
    session: AsyncSession,
    outbox: Outbox,
    recordings: Sequence[Recording],
    *,
    actor: str,
    at: datetime | None = None,
) -> dict[str, PrintJob]:
    """Recordings in the order they came: a job for each resident without an open one, a
    blank reserved for each new job while any is available, a SUKET for the rest. Returns
    each resident's open job."""
    firsts = {r.nik: r for r in reversed(recordings)}  # a resident's first recording wins
    arrival = list(dict.fromkeys(r.nik for r in recordings))
    jobs = await open_jobs(session, arrival)
    new = [
        PrintJob(
            id=str(uuid.uuid4()),
            nik=nik,
            village_code=firsts[nik].village_code,
            recorded_at=firsts[nik].recorded_at,
        )
        for nik in arrival
        if nik not in jobs
    ]
    if not new:
        return jobs
    session.add_all(new)
    await session.flush()
    reserved = await ledger.reserve_for(
        session, OFFICE, [job.id for job in new], actor=actor, outbox=outbox, at=at
    )
    for job in new[:reserved]:
        job.has_blank = True
    await _issue_sukets(session, outbox, new[reserved:], at)
    jobs.update({job.nik: job for job in new})
    return jobs


async def on_print_ready(
    session: AsyncSession,
    outbox: Outbox,
    *,
    nik: str,
    decided_at: datetime,
    actor: str,
    at: datetime | None = None,
) -> PrintJob:
    jobs = await on_prints_ready(session, outbox, [(nik, decided_at)], actor=actor, at=at)
    return jobs[nik]


async def on_prints_ready(
    session: AsyncSession,
    outbox: Outbox,
    decisions: Sequence[tuple[str, datetime]],
    *,
    actor: str,
    at: datetime | None = None,
    residents: Mapping[str, Recording] | None = None,
) -> dict[str, PrintJob]:
    """Residents cleared for printing (NIK, when): their open jobs become printable. A result
    that overtook its recording event (or a resident imported as recorded) starts the job
    itself, with the resident's village and recording day from `residents` when known (the
    decision's moment otherwise); a job there was takes the resident's village from it."""
    known = residents or {}
    jobs = await open_jobs(session, [nik for nik, _ in decisions])
    missing = [
        known.get(nik) or Recording(nik, None, decided_at)
        for nik, decided_at in decisions
        if nik not in jobs
    ]
    if missing:
        jobs.update(await on_recordings(session, outbox, missing, actor=actor, at=at))
    # Only a job waiting for a blank moves the counts owed: it joins the backlog unless its
    # resident holds a SUKET (then it is owed already).
    moving = [
        job.id
        for job in jobs.values()
        if not job.print_ready and job.state == JobState.OPEN and not job.has_blank
    ]
    holding = await queries.outstanding_sukets(session, moving)
    for nik, _ in decisions:
        job = jobs[nik]
        before = owed.share(job, holds_suket=job.id in holding)
        job.print_ready = True
        if nik in known and known[nik].village_code is not None:
            job.village_code = known[nik].village_code
        session.add(job)
        owed.note_job(session, job, before, holds_suket=job.id in holding)
    return jobs


async def on_duplicate(
    session: AsyncSession,
    outbox: Outbox,
    *,
    nik: str,
    actor: str,
    at: datetime | None = None,
) -> PrintJob | None:
    """The recording matched someone else's: drop the job, revoke its SUKET (the resident is
    not cleared as one identity, so the certificate no longer stands) and give its blank to
    the oldest waiting job. A re-recording later starts a new job like any recording."""
    job = await open_job(session, nik)
    if job is None:
        return None
    before = owed.share(job, holds_suket=await _holds_suket(session, job))
    job.state = JobState.DROPPED
    session.add(job)
    revoked = await _revoke_sukets(session, outbox, job, at or datetime.now(UTC))
    owed.note_job(session, job, before, holds_suket=False)
    owed.note(session, job.location, outstanding=-revoked)
    if job.has_blank:
        job.has_blank = False
        await ledger.append(
            session,
            Entry(EntryKind.RELEASED, 1, job.location),
            actor=actor,
            job_id=job.id,
            outbox=outbox,
            at=at,
        )
        await session.flush()
        await serve_waiting(session, outbox, job.location, actor=actor, at=at)
    return job


async def receive_blanks(
    session: AsyncSession,
    outbox: Outbox,
    *,
    quantity: int,
    location: str,
    reference: str,
    serial_from: str,
    serial_to: str,
    actor: str,
    request_id: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> tuple[LedgerEntry, int]:
    """Blanks from the ministry, with their serial range; waiting jobs take them in order of
    recording. Returns the entry and how many waiting jobs got a blank."""
    try:
        serials = SerialRange.of(serial_from, serial_to)
    except SerialRangeInvalid as exc:
        raise ledger.StockRefused(str(exc)) from None
    if serials.size != quantity:
        raise ledger.StockRefused(
            f"the serial range holds {serials.size} blanks, the receipt says {quantity}"
        )
    # Every receipt also holds the office's balance (locks always in location order, as
    # transfers take them): receipts anywhere queue, so no two overlapping ranges get in.
    for held in sorted({location, OFFICE}):
        await ledger.locked_balance(session, held)
    clash = await _overlapping_batch(session, serials)
    if clash is not None:
        raise ledger.StockRefused(
            f"these serials overlap the receipt in ledger entry {clash.entry_id}"
        )
    entry = await ledger.append(
        session,
        Entry(EntryKind.RECEIVED, quantity, location),
        actor=actor,
        reference=reference,
        serial_from=serial_from,
        serial_to=serial_to,
        request_id=request_id,
        note=note,
        outbox=outbox,
        at=at,
    )
    assert entry.id is not None
    session.add(
        BlankBatch(
            entry_id=entry.id,
            prefix=serials.prefix,
            digits=serials.digits,
            first_number=serials.first,
            last_number=serials.last,
        )
    )
    await session.flush()
    served = await serve_waiting(session, outbox, location, actor=actor, at=at)
    return entry, served


async def serve_waiting(
    session: AsyncSession,
    outbox: Outbox,
    location: str,
    *,
    actor: str,
    at: datetime | None = None,
) -> int:
    """Give the location's available blanks to its waiting jobs, oldest recording first.
    Returns how many were served."""
    balance = await ledger.locked_balance(session, location)
    free = balance.on_hand - balance.reserved
    if free <= 0:
        return 0
    waiting = await session.exec(
        select(PrintJob)
        .where(
            PrintJob.state == JobState.OPEN,
            col(PrintJob.has_blank).is_(False),
            PrintJob.location == location,
        )
        .order_by(col(PrintJob.recorded_at), col(PrintJob.id))
        .limit(free)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    jobs = waiting.all()
    holding = await queries.outstanding_sukets(session, [job.id for job in jobs])
    served = 0
    for job in jobs:
        before = owed.share(job, holds_suket=job.id in holding)
        if not await _try_reserve(session, outbox, job, actor, at):
            break
        owed.note_job(session, job, before, holds_suket=job.id in holding)
        served += 1
    return served


async def print_card(
    session: AsyncSession,
    outbox: Outbox,
    *,
    job_id: str,
    card_serial: str,
    at: datetime,
    actor: str,
) -> PrintJob:
    """An operator prints on the blank `card_serial`: the job's reserved blank is consumed.

    The job row is locked, so two operators printing the same card get one success and one
    refusal; the serial's key makes a blank print once even at two locations at once. Sending
    the same print again (same job, same serial) answers the printed job and changes nothing.
    """
    job = await _locked_job(session, job_id)
    if job.state in (JobState.PRINTED, JobState.ISSUED) and job.card_serial == card_serial:
        return job
    _check_printable(job)
    await _check_blank(session, card_serial)
    holds_suket = await _holds_suket(session, job)
    job.state, job.has_blank, job.card_serial, job.printed_at = (
        JobState.PRINTED,
        False,
        card_serial,
        at,
    )
    session.add(job)
    await outbox.add(
        session,
        CardPrintedV1(
            nik=job.nik,
            job_id=job.id,
            blank_serial=card_serial,
            location=job.location,
            printed_at=at,
            suket_holder=holds_suket,
        ),
    )
    await session.flush()
    # From here the location's balance is locked until the commit: only what must be.
    entry = await ledger.append(
        session,
        Entry(EntryKind.CONSUMED, 1, job.location),
        actor=actor,
        job_id=job.id,
        serial_from=card_serial,
        serial_to=card_serial,
        outbox=outbox,
        at=at,
    )
    await _use_blank(session, card_serial, job, EntryKind.CONSUMED, entry)
    if holds_suket:
        # The resident's demand was counted on the day of the SUKET, not again now.
        balance = await ledger.locked_balance(session, job.location)
        await daily.count_suket(session, balance, entry.recorded_at, printed=True)
    return job


async def spoil(
    session: AsyncSession,
    outbox: Outbox,
    *,
    job_id: str,
    blank_serial: str,
    actor: str,
    note: str,
    at: datetime,
) -> PrintJob:
    """The print on `blank_serial` failed: the blank is lost and the job takes another blank
    if one is available (it waits otherwise). The same spoil sent again changes nothing."""
    job = await _locked_job(session, job_id)
    earlier = await session.get(UsedBlank, blank_serial)
    if earlier is not None and earlier.job_id == job.id and earlier.kind is EntryKind.SPOILED:
        return job
    _check_printable(job)
    await _check_blank(session, blank_serial)
    holds_suket = await _holds_suket(session, job)
    before = owed.share(job, holds_suket=holds_suket)
    entry = await ledger.append(
        session,
        Entry(EntryKind.SPOILED, 1, job.location),
        actor=actor,
        job_id=job.id,
        serial_from=blank_serial,
        serial_to=blank_serial,
        note=note,
        outbox=outbox,
        at=at,
    )
    await _use_blank(session, blank_serial, job, EntryKind.SPOILED, entry)
    job.has_blank = False
    session.add(job)
    await outbox.add(
        session,
        CardSpoiledV1(
            nik=job.nik,
            job_id=job.id,
            blank_serial=blank_serial,
            location=job.location,
            spoiled_at=at,
        ),
    )
    await _try_reserve(session, outbox, job, actor, at)
    owed.note_job(session, job, before, holds_suket=holds_suket)
    return job


async def issue_card(
    session: AsyncSession, outbox: Outbox, *, job_id: str, at: datetime, actor: str
) -> PrintJob:
    """The printed card is handed over; the resident's SUKETs are cleared. Handing over an
    issued card again changes nothing."""
    job = await _locked_job(session, job_id)
    if job.state == JobState.ISSUED:
        return job
    if job.state != JobState.PRINTED:
        raise PrintRefused("only a printed card can be handed over")
    job.state, job.issued_at = JobState.ISSUED, at
    session.add(job)
    sukets = await session.exec(select(Suket).where(Suket.nik == job.nik, queries.outstanding()))
    cleared = sukets.all()
    for suket in cleared:
        suket.cleared_at = at
        session.add(suket)
    await _note_cleared(session, cleared)
    await outbox.add(session, CardIssuedV1(nik=job.nik, job_id=job.id, issued_at=at))
    return job


async def _note_cleared(session: AsyncSession, cleared: Sequence[Suket]) -> None:
    """SUKETs just cleared leave the counts owed, and so does a job of theirs still waiting
    for a blank (a resident's SUKET of an earlier job clears with the card): it is owed
    now as print-ready backlog, or not at all, unless it holds another SUKET still."""
    if not cleared:
        return
    job_ids = sorted({suket.job_id for suket in cleared})
    result = await session.exec(
        select(PrintJob)
        .where(col(PrintJob.id).in_(job_ids))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    jobs = {job.id: job for job in result.all()}
    holding = await queries.outstanding_sukets(session, job_ids)
    for suket in cleared:
        if suket.job_id in jobs:  # counted through its job's location
            owed.note(session, jobs[suket.job_id].location, outstanding=-1)
    for job in jobs.values():
        owed.note_job(
            session, job, owed.share(job, holds_suket=True), holds_suket=job.id in holding
        )


async def _locked_job(session: AsyncSession, job_id: str) -> PrintJob:
    result = await session.exec(
        select(PrintJob)
        .where(PrintJob.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    job = result.first()
    if job is None:
        raise JobNotFound("no print job with this id")
    return job


def _check_printable(job: PrintJob) -> None:
    refusal = print_refusal(job.state, has_blank=job.has_blank, print_ready=job.print_ready)
    if refusal is not None:
        raise PrintRefused(refusal)


async def _check_blank(session: AsyncSession, serial_text: str) -> None:
    """The serial was received (in a receipt still standing) and is not used yet."""
    try:
        serial = Serial.parse(serial_text)
    except SerialRangeInvalid as exc:
        raise PrintRefused(str(exc)) from None
    if await session.get(UsedBlank, serial_text) is not None:
        raise PrintRefused("this blank was printed on or spoiled already")
    received = await session.exec(
        select(BlankBatch.entry_id).where(
            BlankBatch.prefix == serial.prefix,
            BlankBatch.digits == serial.digits,
            col(BlankBatch.first_number) <= serial.number,
            col(BlankBatch.last_number) >= serial.number,
            col(BlankBatch.voided).is_(False),
        )
    )
    if received.first() is None:
        raise PrintRefused("this serial is not in any receipt of blanks")


async def _use_blank(
    session: AsyncSession, serial: str, job: PrintJob, kind: EntryKind, entry: LedgerEntry
) -> None:
    """Mark the blank used; its key refuses a second use even from another location at the
    same moment (checked before, this only fails in such a race)."""
    conn = await session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    claimed = await conn.execute(
        insert(UsedBlank)
        .values(serial=serial, job_id=job.id, kind=kind, entry_id=entry.id)
        .on_conflict_do_nothing(index_elements=["serial"])
        .returning(col(UsedBlank.serial))
    )
    if claimed.first() is None:
        raise PrintRefused("this blank was printed on or spoiled already")


async def _overlapping_batch(session: AsyncSession, serials: SerialRange) -> BlankBatch | None:
    result = await session.exec(
        select(BlankBatch).where(
            BlankBatch.prefix == serials.prefix,
            BlankBatch.digits == serials.digits,
            col(BlankBatch.first_number) <= serials.last,
            col(BlankBatch.last_number) >= serials.first,
            col(BlankBatch.voided).is_(False),
        )
    )
    return result.first()


async def _holds_suket(session: AsyncSession, job: PrintJob) -> bool:
    result = await session.exec(
        select(Suket.number).where(Suket.job_id == job.id, queries.outstanding())
    )
    return result.first() is not None


async def _revoke_sukets(session: AsyncSession, outbox: Outbox, job: PrintJob, at: datetime) -> int:
    """Revoke the dropped job's outstanding SUKET and say so (`suket_revoked`); the demand it
    stood for was counted on its day and stays counted."""
    sukets = (
        await session.exec(select(Suket).where(Suket.job_id == job.id, queries.outstanding()))
    ).all()
    for suket in sukets:
        suket.revoked_at = at
        session.add(suket)
    await outbox.add_many(
        session,
        [SuketRevokedV1(nik=s.nik, suket_number=s.number, revoked_at=at) for s in sukets],
        occurred_at=at,
    )
    return len(sukets)


async def _try_reserve(
    session: AsyncSession,
    outbox: Outbox,
    job: PrintJob,
    actor: str,
    at: datetime | None,
) -> bool:
    try:
        await ledger.append(
            session,
            Entry(EntryKind.RESERVED, 1, job.location),
            actor=actor,
            job_id=job.id,
            outbox=outbox,
            at=at,
        )
    except ledger.StockRefused:
        return False
    job.has_blank = True
    session.add(job)
    return True


async def _issue_sukets(
    session: AsyncSession, outbox: Outbox, jobs: Sequence[PrintJob], at: datetime | None
) -> None:
    """No blank for these jobs: each resident gets a SUKET, valid six months from the
    recording. The caller holds the office's balance lock."""
    if not jobs:
        return
    sukets = [
        Suket(
            number=f"SUKET/{job.recorded_at:%Y%m%d}/{job.id.replace('-', '')[:12].upper()}",
            nik=job.nik,
            job_id=job.id,
            issued_at=job.recorded_at,
            valid_until=job.recorded_at + SUKET_VALIDITY,
        )
        for job in jobs
    ]
    session.add_all(sukets)
    for job in jobs:  # new, so owed nothing before
        owed.note_job(session, job, (0, 0), holds_suket=True)
        owed.note(session, job.location, outstanding=1)
    balance = await ledger.locked_balance(session, OFFICE)
    counted = at or datetime.now(UTC)
    await daily.count_suket(session, balance, counted, count=len(sukets))
    # The events' time is the moment the demand was counted: analytics counts it on that day.
    await outbox.add_many(
        session,
        [
            SuketIssuedV1(
                nik=suket.nik,
                suket_number=suket.number,
                issued_at=suket.issued_at,
                valid_until=suket.valid_until.date(),
                location=OFFICE,
            )
            for suket in sukets
        ],
        occurred_at=counted,
    )
