"""Bulk import of the population register as a job: new residents are registered, changed ones
updated, unchanged ones skipped; each new or changed resident publishes its event through the
outbox in the same transaction as its row.

The file is applied in chunks, one transaction each, so progress is visible and a crash loses
at most the chunk in hand; importing the same file again finds every row unchanged (by digest)
and resumes where it stopped. On PostgreSQL new rows go in with COPY.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import queue
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import structlog
from sqlalchemy import String, Table, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import (
    ImportJob,
    ImportRowError,
    Resident,
    StatusChange,
)
from jemput.residents.domain.model import DomicileStatus, EktpStatus
from jemput.residents.domain.status import Milestones
from jemput.residents.service_layer import register_file
from jemput.residents.service_layer.register_file import RowProblem
from jemput.residents.service_layer.registration import (
    REGISTER_FIELDS,
    RegisterEntry,
    milestones_for,
    snapshot,
)
from jemput.residents.service_layer.status import current_status
from jemput.shared.db import is_postgres
from jemput.shared.eligibility import adult_cutoff
from jemput.shared.events.base import EventPayload
from jemput.shared.events.residents import (
    ResidentChangedV1,
    ResidentDiedV1,
    ResidentMovedOutV1,
    ResidentRegisteredV1,
)
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.tables import outbox as outbox_table

log = structlog.get_logger(__name__)

# Problems kept per job; the counts stay exact beyond it.
MAX_STORED_PROBLEMS = 100_000


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass
class ImportCounts:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems_stored: int = 0
    seen: set[str] = field(default_factory=set)


ProgressCallback = Callable[[ImportCounts], None]


async def create_job(engine: AsyncEngine, job_id: str, file_name: str, file_format: str) -> None:
    async with AsyncSession(engine) as session, session.begin():
        session.add(
            ImportJob(id=job_id, state="queued", file_name=file_name, file_format=file_format)
        )


async def fail_interrupted_jobs(engine: AsyncEngine) -> int:
    """Jobs left running by a process that died; importing the file again finishes the work."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_table(ImportJob))
            .where(_table(ImportJob).c.state.in_(["queued", "running"]))
            .values(
                state="failed",
                error_summary="interrupted (the service stopped); import the file again",
                finished_at=datetime.now(UTC),
            )
        )
    return int(result.rowcount or 0)


async def run_import(
    engine: AsyncEngine,
    outbox: Outbox,
    *,
    job_id: str,
    path: Path,
    file_format: str,
    regency_code: str,
    today: date,
    actor: str,
    on_progress: ProgressCallback | None = None,
    chunk_size: int = 10_000,
    encoding: str | None = None,
) -> ImportCounts:
    """`encoding`: the file's declared character set; None detects it."""
    counts = ImportCounts()
    jobs = _table(ImportJob)
    sources: list[_ChunkSource] = []
    try:
        chosen = await asyncio.to_thread(register_file.resolve_encoding, path, encoding)
        log.info("import.encoding", job_id=job_id, encoding=chosen, declared=bool(encoding))
        total = await asyncio.to_thread(register_file.count_rows, path, file_format)
        async with engine.begin() as conn:
            await conn.execute(
                update(jobs).where(jobs.c.id == job_id).values(state="running", total_rows=total)
            )
        chunks = _ChunkSource(
            path,
            file_format,
            chosen,
            regency_code,
            today,
            chunk_size,
            in_process=total > chunk_size,
        )
        sources.append(chunks)

        async def next_chunk() -> _ParsedChunk | None:
            parsed = await chunks.next()
            return None if parsed is None else _drop_repeated_niks(parsed, counts.seen)

        def parse_next() -> asyncio.Future[_ParsedChunk | None]:
            # The next chunk is read and checked while the database writes this one.
            return asyncio.ensure_future(next_chunk())

        upcoming = parse_next()
        while (chunk := await upcoming) is not None:
            upcoming = parse_next()
            async with engine.begin() as conn:
                await _apply_chunk(
                    conn,
                    outbox,
                    chunk,
                    counts,
                    job_id=job_id,
                    regency_code=regency_code,
                    today=today,
                    actor=actor,
                )
                await conn.execute(
                    update(jobs).where(jobs.c.id == job_id).values(**_job_counts(counts))
                )
            if on_progress:
                on_progress(counts)
        async with engine.begin() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(state="succeeded", finished_at=datetime.now(UTC), **_job_counts(counts))
            )
    except Exception as exc:
        summary = (
            str(exc) if isinstance(exc, register_file.RegisterFileError) else type(exc).__name__
        )
        # No traceback: its locals would carry register rows (personal data) into the logs.
        log.error("import.failed", job_id=job_id, error=type(exc).__name__)
        async with engine.begin() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(state="failed", error_summary=summary[:500], finished_at=datetime.now(UTC))
            )
        raise
    finally:
        for source in sources:
            source.close()
    return counts


def _job_counts(counts: ImportCounts) -> dict[str, int]:
    return {
        "processed_rows": counts.processed,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "rejected": counts.rejected,
    }


@dataclass
class _ParsedChunk:
    entries: list[RegisterEntry]
    problems: list[RowProblem]
    read: int = 0
    rejected: int = 0


class _ChunkSource:
    """Checked chunks of the register file, in file order.

    A big file is read and checked by a worker process: the second core does that while this
    process writes to the database (a thread would share one core under the GIL). The queue is
    bounded, so the worker never runs far ahead of the database.
    """

    def __init__(
        self,
        path: Path,
        file_format: str,
        encoding: str,
        regency_code: str,
        today: date,
        size: int,
        *,
        in_process: bool,
    ) -> None:
        self._process: multiprocessing.process.BaseProcess | None = None
        if in_process:
            context = multiprocessing.get_context("spawn")
            self._queue: Any = context.Queue(maxsize=3)
            self._process = context.Process(
                target=_check_file_in_worker,
                args=(path, file_format, encoding, regency_code, today, size, self._queue),
                daemon=True,
            )
            self._process.start()
        else:
            self._rows = register_file.read_rows(path, file_format, encoding)
            self._regency_code = regency_code
            self._today = today
            self._size = size

    async def next(self) -> _ParsedChunk | None:
        if self._process is None:
            raw = await asyncio.to_thread(lambda: list(itertools.islice(self._rows, self._size)))
            if not raw:
                return None
            return await asyncio.to_thread(_parse_rows, raw, self._regency_code, self._today)
        item = await asyncio.to_thread(self._get)
        if isinstance(item, str):
            raise register_file.RegisterFileError(item)
        return cast(_ParsedChunk | None, item)

    def _get(self) -> object:
        assert self._process is not None
        while True:
            try:
                return self._queue.get(timeout=1)
            except queue.Empty:
                if not self._process.is_alive():
                    raise RuntimeError("the import worker process stopped") from None

    def close(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)


def _check_file_in_worker(
    path: Path,
    file_format: str,
    encoding: str,
    regency_code: str,
    today: date,
    size: int,
    chunks: Any,
) -> None:
    """The worker process: every chunk goes on the queue, then None; a file error as text."""
    try:
        rows = register_file.read_rows(path, file_format, encoding)
        while raw := list(itertools.islice(rows, size)):
            chunks.put(_parse_rows(raw, regency_code, today))
        chunks.put(None)
    except register_file.RegisterFileError as exc:
        chunks.put(str(exc))
    except Exception as exc:  # the parent must hear of it rather than wait forever
        chunks.put(f"the file could not be read ({type(exc).__name__})")


def _parse_rows(
    rows: list[tuple[int, dict[str, str]]], regency_code: str, today: date
) -> _ParsedChunk:
    """Check a chunk of rows (runs in a worker process for big files, so it must stay a plain
    module-level function of picklable arguments)."""
    chunk = _ParsedChunk([], [], read=len(rows))
    for line, row in rows:
        parsed = register_file.parse_row(line, row, regency_code=regency_code, today=today)
        if isinstance(parsed, list):
            chunk.problems.extend(parsed)
            chunk.rejected += 1
        else:
            chunk.entries.append(parsed)
    return chunk


def _drop_repeated_niks(chunk: _ParsedChunk, seen: set[str]) -> _ParsedChunk:
    """A NIK that appeared earlier in the file: the first row counts, the others are errors."""
    kept: list[RegisterEntry] = []
    for entry in chunk.entries:
        if entry.nik in seen:
            chunk.problems.append(
                RowProblem(
                    entry.line,
                    "NIK",
                    "duplicate_nik_in_file",
                    "the NIK appears earlier in the file",
                )
            )
            chunk.rejected += 1
        else:
            seen.add(entry.nik)
            kept.append(entry)
    chunk.entries = kept
    chunk.problems.sort(key=lambda p: p.line)
    return chunk


async def _apply_chunk(
    conn: AsyncConnection,
    outbox: Outbox,
    chunk: _ParsedChunk,
    counts: ImportCounts,
    *,
    job_id: str,
    regency_code: str,
    today: date,
    actor: str,
) -> None:
    entries, problems = chunk.entries, chunk.problems
    counts.processed += chunk.read
    counts.rejected += chunk.rejected
    digests = await _stored_digests(conn, [e.nik for e in entries])
    new = [e for e in entries if e.nik not in digests]
    changed = [e for e in entries if e.nik in digests and digests[e.nik] != e.digest]
    counts.unchanged += len(entries) - len(new) - len(changed)

    now = datetime.now(UTC)
    if new:
        await _insert_new(conn, outbox, new, job_id=job_id, actor=actor, today=today, now=now)
        counts.created += len(new)
    if changed:
        await _update_changed(conn, outbox, changed, today=today, now=now)
        counts.updated += len(changed)
    room = MAX_STORED_PROBLEMS - counts.problems_stored
    if problems and room > 0:
        stored = problems[:room]
        await conn.execute(
            insert(_table(ImportRowError)),
            [
                {
                    "job_id": job_id,
                    "line": p.line,
                    "field": p.field,
                    "code": p.code,
                    "reason": p.reason,
                }
                for p in stored
            ],
        )
        counts.problems_stored += len(stored)


async def _stored_digests(conn: AsyncConnection, niks: list[str]) -> dict[str, str]:
    residents = _table(Resident)
    query = select(residents.c.nik, residents.c.record_digest)
    if is_postgres(conn.engine):
        # One array parameter: no statement of thousands of placeholders to compile each chunk.
        query = query.where(residents.c.nik == any_(bindparam("niks", type_=ARRAY(String))))
        result = await conn.execute(query, {"niks": niks})
    else:
        result = await conn.execute(query.where(residents.c.nik.in_(niks)))
    return {nik: digest for nik, digest in result.all()}


async def _update_changed(
    conn: AsyncConnection,
    outbox: Outbox,
    entries: Sequence[RegisterEntry],
    *,
    today: date,
    now: datetime,
) -> None:
    session = AsyncSession(bind=conn)
    by_nik = {e.nik: e for e in entries}
    result = await session.exec(
        sqlmodel_select(Resident).where(col(Resident.nik).in_(list(by_nik)))
    )
    for resident in result.all():
        entry = by_nik[resident.nik]
        previous_domicile = resident.domicile_status
        for name in REGISTER_FIELDS:
            setattr(resident, name, entry.fields[name])
        resident.district_code = resident.village_code[:8]
        resident.domicile_status = entry.domicile_status
        resident.record_digest = entry.digest
        resident.updated_at = now
        resident.ektp_status = current_status(resident, today)
        session.add(resident)
        events: list[EventPayload] = [snapshot(resident, ResidentChangedV1)]
        if entry.domicile_status != previous_domicile:
            if entry.domicile_status is DomicileStatus.MOVED_OUT:
                events.append(
                    ResidentMovedOutV1(
                        nik=resident.nik, village_code=resident.village_code, moved_on=today
                    )
                )
            elif entry.domicile_status is DomicileStatus.DECEASED:
                events.append(
                    ResidentDiedV1(
                        nik=resident.nik, village_code=resident.village_code, died_on=today
                    )
                )
        await outbox.add_many(conn, events)
    await session.flush()


RESIDENT_COLUMNS = (
    "nik", "kk", "full_name", "birth_place", "birth_date", "birth_date_corrected", "sex",
    "marital_status", "village_code", "district_code", "rt", "rw", "disabled", "chronically_ill",
    "mental_illness", "domicile_status", "ektp_status", "suket_outstanding", "recorded_at",
    "duplicate_at", "print_ready_at", "printed_at", "issued_at", "status_changed_at",
    "record_digest", "created_at", "updated_at",
)  # fmt: skip
HISTORY_COLUMNS = ("nik", "from_status", "to_status", "changed_at", "cause", "cause_id", "actor")
OUTBOX_COLUMNS = (
    "event_id", "topic", "partition_key", "event_type", "subject", "occurred_at", "payload",
)  # fmt: skip


async def _insert_new(
    conn: AsyncConnection,
    outbox: Outbox,
    entries: Sequence[RegisterEntry],
    *,
    job_id: str,
    actor: str,
    today: date,
    now: datetime,
) -> None:
    """Residents, their first history row and their `resident_registered.v1` events.

    This is the hot path of a whole-regency import, so rows are built as tuples and the event
    JSON straight from the fields (`test_import` checks it reads back as the pydantic event).
    """
    adult_cutoff_date = adult_cutoff(today)
    topic = outbox.topic("residents")
    event_type = ResidentRegisteredV1.event_type
    # Entries of one status and recording day reach the same milestones: worked out once.
    progress: dict[tuple[EktpStatus, date | None], tuple[Milestones, str]] = {}
    residents, history, events = [], [], []
    for entry in entries:
        f = entry.fields
        nik = str(f["nik"])
        birth_date = f["birth_date"]
        marital = str(f["marital_status"])
        key = (entry.ektp_status, entry.recorded_on)
        if key not in progress:
            milestones = milestones_for(entry.ektp_status, now, entry.recorded_on)
            reached = milestones.status(birth_date=date.min, ever_married=True, as_of=today)
            progress[key] = (milestones, reached)
        milestones, status = progress[key]
        if milestones.recorded_at is None:  # nothing reached yet: eligibility decides
            eligible = marital != "BELUM_KAWIN" or birth_date <= adult_cutoff_date  # type: ignore[operator]
            status = "BELUM_REKAM" if eligible else "BELUM_WAJIB"
        village = str(f["village_code"])
        domicile = str(entry.domicile_status)
        residents.append((
            nik, f["kk"], f["full_name"], f["birth_place"], birth_date, f["birth_date_corrected"],
            str(f["sex"]), marital, village, village[:8], f["rt"], f["rw"], f["disabled"],
            f["chronically_ill"], f["mental_illness"], domicile, status, False,
            milestones.recorded_at, milestones.duplicate_at, milestones.print_ready_at,
            milestones.printed_at, milestones.issued_at, now, entry.digest, now, now,
        ))  # fmt: skip
        history.append((nik, None, status, now, "import", job_id, actor))
        payload = orjson.dumps({
            "nik": nik, "village_code": village, "birth_date": birth_date, "sex": str(f["sex"]),
            "marital_status": marital, "ektp_status": status, "domicile_status": domicile,
            "disabled": f["disabled"], "chronically_ill": f["chronically_ill"],
            "mental_illness": f["mental_illness"], "suket_outstanding": False,
            "recorded_at": milestones.recorded_by,
        })  # fmt: skip
        events.append((str(uuid.uuid4()), topic, nik, event_type, nik, now, payload))
    await _bulk_insert(conn, _table(Resident), RESIDENT_COLUMNS, residents)
    await _bulk_insert(conn, _table(StatusChange), HISTORY_COLUMNS, history)
    await _bulk_insert(conn, outbox_table, OUTBOX_COLUMNS, events)


async def _bulk_insert(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if not is_postgres(conn.engine):
        await conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    # COPY is several times faster than INSERT for tens of thousands of rows.
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
