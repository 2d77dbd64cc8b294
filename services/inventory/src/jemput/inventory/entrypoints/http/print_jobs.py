"""`/v1/print-jobs` and `/v1/sukets`: the print queue by state, printing, spoiled prints and
hand-overs, and the SUKETs residents hold while they wait for a card."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import PrintJob, Suket
from jemput.inventory.domain.print_jobs import QueueState, queue_state
from jemput.inventory.domain.serials import SERIAL_PATTERN
from jemput.inventory.entrypoints.http.access import Operator, RegencyReader, actor
from jemput.inventory.entrypoints.http.audit_trail import Trail, job_change, job_detail
from jemput.inventory.entrypoints.http.deps import (
    LOCATION_DESCRIPTION,
    LOCATION_PATTERN,
    ClockDep,
    Once,
    moment_cursor,
    problem_responses,
)
from jemput.inventory.service_layer import print_queue, queries
from jemput.inventory.service_layer.problems import field, invalid, not_found
from jemput.inventory.service_layer.queries import SuketStatus
from jemput.shared.audit import AuditAction
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.nik import NikText

router = APIRouter(tags=["print queue and SUKETs"])

JobIdPath = Annotated[str, Path(min_length=1, max_length=36, description="The print job's id.")]


class PrintJobPublic(BaseModel):
    id: str
    nik: NikText
    village_code: str | None
    location: str
    state: QueueState
    has_blank: bool = Field(description="A blank is reserved for the job.")
    print_ready: bool = Field(description="The national system cleared the recording (PRR).")
    recorded_at: datetime
    card_serial: str | None
    printed_at: datetime | None
    issued_at: datetime | None
    suket_number: str | None = Field(description="The resident's SUKET not yet cleared, if any.")

    @classmethod
    def of(cls, job: PrintJob, suket_number: str | None) -> PrintJobPublic:
        return cls(
            id=job.id,
            nik=job.nik,
            village_code=job.village_code,
            location=job.location,
            state=queue_state(job.state, has_blank=job.has_blank, print_ready=job.print_ready),
            has_blank=job.has_blank,
            print_ready=job.print_ready,
            recorded_at=job.recorded_at,
            card_serial=job.card_serial,
            printed_at=job.printed_at,
            issued_at=job.issued_at,
            suket_number=suket_number,
        )


async def job_view(session: AsyncSession, job: PrintJob) -> PrintJobPublic:
    sukets = await queries.outstanding_sukets(session, [job.id])
    return PrintJobPublic.of(job, sukets.get(job.id))


@router.get(
    "/v1/print-jobs",
    response_model=Page[PrintJobPublic],
    responses=problem_responses(422),
    summary="The print queue",
    description=(
        "Print jobs in order of recording (the order waiting jobs get blanks in), optionally "
        "in one state: `waiting_for_blank` (the resident holds a SUKET), "
        "`waiting_for_clearance` (a blank is reserved, the national system has not cleared "
        "the recording), `printable`, `printed` (not handed over yet), `issued`, `dropped` "
        "(a duplicate)."
    ),
)
async def list_print_jobs(
    _: RegencyReader,
    trail: Trail,
    session: ReadSession,
    state: QueueState | None = None,
    location: Annotated[
        str | None, Query(pattern=LOCATION_PATTERN, description=LOCATION_DESCRIPTION)
    ] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[PrintJobPublic]:
    rows = await queries.print_jobs(
        session,
        state=state,
        location=location,
        limit=page_size + 1,
        after=moment_cursor(page_token),
    )
    items, token = cut_page(rows, page_size, lambda job: (job.recorded_at.isoformat(), job.id))
    sukets = await queries.outstanding_sukets(session, [job.id for job in items])
    filters = " ".join(f"{k}={v}" for k, v in (("state", state), ("location", location)) if v)
    await trail.read_many(AuditAction.PRINT_JOB_LIST, (job.nik for job in items), filters)
    return Page(
        items=[PrintJobPublic.of(job, sukets.get(job.id)) for job in items],
        next_page_token=token,
    )


@router.get(
    "/v1/print-jobs/{job_id}",
    response_model=PrintJobPublic,
    responses=problem_responses(404, 422),
    summary="Read a print job",
)
async def read_print_job(
    job_id: JobIdPath, _: RegencyReader, trail: Trail, session: ReadSession
) -> PrintJobPublic:
    async with trail.reading(AuditAction.PRINT_JOB_READ, detail=job_detail(job_id)) as subject:
        job = await session.get(PrintJob, job_id)
        if job is None:
            raise not_found("print job")
        subject.nik = job.nik
    return await job_view(session, job)


class PrintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card_serial: str = Field(
        pattern=SERIAL_PATTERN, max_length=30, description="The serial of the blank printed on."
    )


@router.post(
    "/v1/print-jobs/{job_id}:print",
    response_model=PrintJobPublic,
    responses=problem_responses(404, 409, 422),
    summary="Print a card",
    description=(
        "The job's reserved blank, `card_serial`, becomes the resident's card: a CONSUMED "
        "entry, and `card_printed.v1`. The job must be printable; the serial must come from a "
        "receipt and be unused. Two operators printing the same job, or on the same blank, at "
        "once get one success and one 409. Sending the same print again answers the printed "
        "job and changes nothing."
    ),
)
async def print_card(
    job_id: JobIdPath,
    body: PrintCreate,
    principal: Operator,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> PrintJobPublic:
    async with job_change(trail, session, AuditAction.PRINT_JOB_PRINT, job_id):
        job = await print_queue.print_card(
            session,
            runtime.outbox,
            job_id=job_id,
            card_serial=body.card_serial,
            at=clock.now(),
            actor=actor(principal),
        )
    await trail.changed(session, AuditAction.PRINT_JOB_PRINT, [job.nik], job_detail(job_id))
    await session.flush()
    return await job_view(session, job)


class SpoilCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    blank_serial: str = Field(
        pattern=SERIAL_PATTERN, max_length=30, description="The serial of the ruined blank."
    )
    note: str = Field(min_length=1, max_length=300, description="What went wrong.")


@router.post(
    "/v1/print-jobs/{job_id}:spoil",
    response_model=PrintJobPublic,
    responses=problem_responses(404, 409, 422),
    summary="Record a spoiled print",
    description=(
        "The print on `blank_serial` failed: the blank is lost (a SPOILED entry, "
        "`card_spoiled.v1`) and the job goes back to the queue, taking another blank if one "
        "is available. Recording the same spoiled blank again changes nothing."
    ),
)
async def spoil(
    job_id: JobIdPath,
    body: SpoilCreate,
    principal: Operator,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
    once: Once,
) -> PrintJobPublic:
    async def work() -> PrintJobPublic:
        async with job_change(trail, session, AuditAction.PRINT_JOB_SPOIL, job_id):
            job = await print_queue.spoil(
                session,
                runtime.outbox,
                job_id=job_id,
                blank_serial=body.blank_serial,
                note=body.note,
                actor=actor(principal),
                at=clock.now(),
            )
        await trail.changed(session, AuditAction.PRINT_JOB_SPOIL, [job.nik], job_detail(job_id))
        await session.flush()
        return await job_view(session, job)

    return await once.run(body, PrintJobPublic, work, status_code=200)


@router.post(
    "/v1/print-jobs/{job_id}:issue",
    response_model=PrintJobPublic,
    responses=problem_responses(404, 409, 422),
    summary="Hand the card over",
    description=(
        "The printed card reached the resident: `card_issued.v1`, and the resident's SUKETs "
        "are cleared. Handing over an issued card again changes nothing."
    ),
)
async def issue_card(
    job_id: JobIdPath,
    principal: Operator,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> PrintJobPublic:
    async with job_change(trail, session, AuditAction.PRINT_JOB_ISSUE, job_id):
        job = await print_queue.issue_card(
            session, runtime.outbox, job_id=job_id, at=clock.now(), actor=actor(principal)
        )
    await trail.changed(session, AuditAction.PRINT_JOB_ISSUE, [job.nik], job_detail(job_id))
    await session.flush()
    return await job_view(session, job)


class SuketPublic(BaseModel):
    number: str
    nik: NikText
    job_id: str
    issued_at: datetime
    valid_until: datetime
    cleared_at: datetime | None = Field(description="When the card was handed over.")
    revoked_at: datetime | None = Field(
        default=None,
        description="When it was revoked: its holder was flagged a duplicate (not cleared as "
        "one identity); no longer outstanding.",
    )
    expired: bool = Field(description="Outstanding and past its validity: renew it.")
    days_left: int = Field(description="Whole days of validity left (negative: expired).")

    @classmethod
    def of(cls, suket: Suket, now: datetime) -> SuketPublic:
        left = suket.valid_until - now
        return cls(
            number=suket.number,
            nik=suket.nik,
            job_id=suket.job_id,
            issued_at=suket.issued_at,
            valid_until=suket.valid_until,
            cleared_at=suket.cleared_at,
            revoked_at=suket.revoked_at,
            expired=suket.cleared_at is None and suket.revoked_at is None and left < timedelta(0),
            days_left=left.days,
        )


@router.get(
    "/v1/sukets",
    response_model=Page[SuketPublic],
    responses=problem_responses(422),
    summary="SUKETs outstanding, expiring, expired, cleared or revoked",
    description=(
        "SUKETs by expiry, the soonest first. `outstanding` (the default): neither cleared nor "
        "revoked (the card is still owed, expired or not); with `expiring_within_days`, only "
        "those still valid that expire within that many days. `expired`: outstanding and past "
        "their six months. `cleared`: the card was handed over. `revoked`: the holder was "
        "flagged a duplicate by the national de-duplication (not cleared as one identity)."
    ),
)
async def list_sukets(
    _: RegencyReader,
    trail: Trail,
    session: ReadSession,
    clock: ClockDep,
    status: SuketStatus = SuketStatus.OUTSTANDING,
    expiring_within_days: Annotated[int | None, Query(ge=1, le=366)] = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[SuketPublic]:
    if expiring_within_days is not None and status is not SuketStatus.OUTSTANDING:
        raise invalid(
            field(
                "expiring_within_days",
                "only_outstanding",
                "expiring_within_days goes with status=outstanding only",
            )
        )
    now = clock.now()
    rows = await queries.sukets(
        session,
        status=status,
        now=now,
        expiring_within=(
            timedelta(days=expiring_within_days) if expiring_within_days is not None else None
        ),
        limit=page_size + 1,
        after=moment_cursor(page_token),
    )
    items, token = cut_page(rows, page_size, lambda s: (s.valid_until.isoformat(), s.number))
    filters = f"status={status}" + (
        f" expiring_within_days={expiring_within_days}" if expiring_within_days else ""
    )
    await trail.read_many(AuditAction.SUKET_LIST, (s.nik for s in items), filters)
    return Page(items=[SuketPublic.of(s, now) for s in items], next_page_token=token)
