"""Bulk import of the population register as a job: new residents are registered, changed ones
updated, unchanged ones skipped; each new or changed resident publishes its event through the
outbox in the same transaction as its row.

The file is applied in chunks, one transaction each, so progress is visible and a crash loses
at most the chunk in hand; importing the same file again finds every row unchanged (by digest)
and resumes where it stopped. On PostgreSQL new rows go in with COPY.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import structlog
from sqlalchemy import Table, insert, select, update
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
from jemput.residents.domain.model import DomicileStatus
from jemput.residents.service_layer import register_file
from jemput.residents.service_layer.register_file import RowProblem
from jemput.residents.service_layer.registration import (
    REGISTER_FIELDS,
    RegisterEntry,
    resident_row,
    snapshot,
)
from jemput.residents.service_layer.status import current_status
from jemput.shared.db import is_postgres
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
SNAPSHOT_FIELDS = tuple(ResidentRegisteredV1.model_fields)


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
    chunk_size: int = 5000,
) -> ImportCounts:
    counts = ImportCounts()
    jobs = _table(ImportJob)
    try:
        total = await asyncio.to_thread(register_file.count_rows, path, file_format)
        async with engine.begin() as conn:
            await conn.execute(
                update(jobs).where(jobs.c.id == job_id).values(state="running", total_rows=total)
            )
        rows = register_file.read_rows(path, file_format)
        while True:
            # Reading and checking rows is CPU work: a thread keeps the event loop answering.
            chunk = await asyncio.to_thread(_parse_chunk, rows, chunk_size, regency_code, counts)
            if chunk is None:
                break
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
        log.exception("import.failed", job_id=job_id, error=type(exc).__name__)
        async with engine.begin() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(state="failed", error_summary=summary[:500], finished_at=datetime.now(UTC))
            )
        raise
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


def _parse_chunk(
    rows: Iterator[tuple[int, dict[str, str]]], size: int, regency_code: str, counts: ImportCounts
) -> _ParsedChunk | None:
    chunk = _ParsedChunk([], [])
    read = 0
    for line, row in rows:
        read += 1
        parsed = register_file.parse_row(line, row, regency_code=regency_code)
        if isinstance(parsed, list):
            chunk.problems.extend(parsed)
            counts.rejected += 1
        elif parsed.nik in counts.seen:
            chunk.problems.append(
                RowProblem(
                    line, "NIK", "duplicate_nik_in_file", "the NIK appears earlier in the file"
                )
            )
            counts.rejected += 1
        else:
            counts.seen.add(parsed.nik)
            chunk.entries.append(parsed)
        if read >= size:
            break
    counts.processed += read
    return chunk if read else None


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
    residents = _table(Resident)
    digests = dict(
        (
            await conn.execute(
                select(residents.c.nik, residents.c.record_digest).where(
                    residents.c.nik.in_([e.nik for e in entries])
                )
            )
        ).all()
    )
    new = [e for e in entries if e.nik not in digests]
    changed = [e for e in entries if e.nik in digests and digests[e.nik] != e.digest()]
    counts.unchanged += len(entries) - len(new) - len(changed)

    now = datetime.now(UTC)
    if new:
        rows = [resident_row(e, today=today, now=now) for e in new]
        history = [
            {
                "nik": r["nik"],
                "from_status": None,
                "to_status": str(r["ektp_status"]),
                "changed_at": now,
                "cause": "import",
                "cause_id": job_id,
                "actor": actor,
            }
            for r in rows
        ]
        events = [
            outbox.row(
                ResidentRegisteredV1.model_construct(**{f: _plain(r[f]) for f in SNAPSHOT_FIELDS}),
                occurred_at=now,
            )
            for r in rows
        ]
        await _bulk_insert(conn, residents, rows)
        await _bulk_insert(conn, _table(StatusChange), history)
        await _bulk_insert(conn, outbox_table, events)
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
        resident.record_digest = entry.digest()
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


async def _bulk_insert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if not is_postgres(conn.engine):
        await conn.execute(insert(table), rows)
        return
    # COPY is several times faster than INSERT for tens of thousands of rows.
    columns = [c.name for c in table.columns if c.name in rows[0]]
    records = [tuple(_copy_value(row[c]) for c in columns) for row in rows]
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


def _plain(value: Any) -> Any:
    """Enum members as their plain values (COPY and the event serializer want exact types)."""
    return str(value) if isinstance(value, str) and type(value) is not str else value


def _copy_value(value: object) -> object:
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return _plain(value)
