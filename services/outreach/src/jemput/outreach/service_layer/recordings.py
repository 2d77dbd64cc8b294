"""Recording capture, one at a time or in offline batches.

The kit's recording id is the idempotency key: the same id with the same facts is the stored
recording (`duplicate`, no second event); the same id with other facts is a `conflict`, never
an overwrite. Each recording is checked on its own, so one bad item does not hold up a day's
upload. Every accepted recording publishes `recording_captured.v1` in the same transaction. A
recording of a NIK the read model does not know is kept and flagged `unknown_nik`.

Functions here never commit: the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import (
    Appointment,
    OutreachSession,
    Recording,
    ResidentView,
    table_of,
)
from jemput.outreach.domain.capture import (
    CaptureFacts,
    captured_in_future,
    missing_biometrics,
)
from jemput.outreach.domain.model import Biometric, SessionStatus
from jemput.outreach.service_layer import home_visits, resident_view
from jemput.outreach.service_layer.problems import field as problem
from jemput.outreach.service_layer.scheduling import held_kits
from jemput.shared.db import is_postgres
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.http.problems import FieldProblem
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.nik import NikError, parse_nik
from jemput.shared.timezone import office_day


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ItemResult:
    recording_id: str
    outcome: Outcome
    recording: Recording | None = None
    problems: list[FieldProblem] = field(default_factory=list)


# Codes whose item is not a bad request but a session in the wrong place or state.
UNKNOWN_SESSION = "unknown_session"
SESSION_NOT_IN_PROGRESS = "session_not_in_progress"


def canonical(captured: Sequence[Biometric]) -> tuple[Biometric, ...]:
    """Biometrics in the order the kit takes them, each once."""
    have = set(captured)
    return tuple(b for b in Biometric if b in have)


async def capture(
    session: AsyncSession,
    outbox: Outbox,
    items: Sequence[CaptureFacts],
    *,
    now: datetime,
    actor: str,
) -> list[ItemResult]:
    """One result per item, in order."""
    results: dict[int, ItemResult] = {}
    stored = await _stored(session, [item.recording_id for item in items])
    first_of: dict[str, int] = {}
    fresh: list[tuple[int, CaptureFacts]] = []
    repeats: list[tuple[int, CaptureFacts]] = []
    for index, item in enumerate(items):
        earlier = stored.get(item.recording_id)
        if earlier is not None:
            results[index] = _against(item.recording_id, item.digest, earlier)
        elif item.recording_id in first_of:
            repeats.append((index, item))
        else:
            first_of[item.recording_id] = index
            fresh.append((index, item))
    context = await _context(session, [item for _, item in fresh])
    accepted: list[tuple[int, dict[str, Any]]] = []
    for index, item in fresh:
        problems = _problems(item, context, now)
        if problems:
            results[index] = ItemResult(item.recording_id, Outcome.REJECTED, problems=problems)
        else:
            accepted.append((index, _row(item, context, now=now, actor=actor)))
    results.update(await _insert(session, outbox, accepted, context, now=now))
    # The same recording twice in one batch: the second gets the first one's answer.
    for index, item in repeats:
        first = first_of[item.recording_id]
        if item.digest != items[first].digest:
            results[index] = _conflict(item.recording_id)
        elif results[first].outcome is Outcome.ACCEPTED:
            results[index] = replace(results[first], outcome=Outcome.DUPLICATE)
        else:
            results[index] = results[first]
    return [results[index] for index in range(len(items))]


def _against(recording_id: str, digest: str, stored: Recording) -> ItemResult:
    """A recording id already stored: the same facts are a resend, others a conflict."""
    if digest == stored.digest:
        return ItemResult(recording_id, Outcome.DUPLICATE, stored)
    return _conflict(recording_id)


def _conflict(recording_id: str) -> ItemResult:
    return ItemResult(
        recording_id,
        Outcome.CONFLICT,
        problems=[
            problem(
                "recording_id",
                "recording_id_reused",
                "a different recording was already uploaded under this recording_id",
            )
        ],
    )


async def _stored(session: AsyncSession, ids: Sequence[str]) -> dict[str, Recording]:
    if not ids:
        return {}
    query = select(Recording).where(col(Recording.recording_id).in_(sorted(set(ids))))
    return {row.recording_id: row for row in await session.exec(query)}


@dataclass(frozen=True, slots=True)
class _Context:
    """What the checks of a batch need, read with one query each."""

    sessions: Mapping[str, OutreachSession]
    kits: Mapping[str, list[str]]
    residents: Mapping[str, ResidentView]
    odgj: set[str]


async def _context(session: AsyncSession, items: Sequence[CaptureFacts]) -> _Context:
    session_ids = sorted({item.session_id for item in items})
    found = await session.exec(
        select(OutreachSession).where(col(OutreachSession.id).in_(session_ids))
    )
    by_id = {row.id: row for row in found}
    niks = [item.nik for item in items]
    return _Context(
        sessions=by_id,
        kits=await held_kits(session, sorted(by_id)),
        residents=await resident_view.residents(session, niks),
        odgj=await home_visits.odgj_niks(session, niks),
    )


def _problems(item: CaptureFacts, context: _Context, now: datetime) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    try:
        parse_nik(item.nik)
    except NikError as error:
        problems.append(problem("nik", error.code.value, error.message))
    row = context.sessions.get(item.session_id)
    if row is None:
        problems.append(problem("session_id", UNKNOWN_SESSION, "no session with this id"))
    elif row.status is not SessionStatus.IN_PROGRESS:
        problems.append(
            problem(
                "session_id",
                SESSION_NOT_IN_PROGRESS,
                f"the session is {row.status}; recordings are taken in sessions in progress",
            )
        )
    else:
        if item.kit_serial not in context.kits.get(row.id, ()):
            problems.append(
                problem("kit_serial", "kit_not_in_session", "the kit is not in this session")
            )
        if office_day(item.captured_at) < row.day:
            problems.append(
                problem(
                    "captured_at",
                    "captured_before_session",
                    f"captured before the session's day ({row.day.isoformat()})",
                )
            )
    if captured_in_future(item.captured_at, now):
        problems.append(
            problem("captured_at", "captured_in_future", "captured_at is in the future")
        )
    odgj = _odgj(item.nik, context)
    missing = missing_biometrics(item.captured, mental_illness=odgj)
    if missing:
        needed = "photo and fingerprints" if odgj else "photo, fingerprints, iris and signature"
        problems.append(
            problem(
                "captured",
                "incomplete_capture",
                f"missing {', '.join(missing)}; this resident is recorded with {needed}",
            )
        )
    return problems


def _odgj(nik: str, context: _Context) -> bool:
    """Recorded with photo and fingerprints only: the register's flag or a home-visit request
    for a mental illness. A NIK the register does not know yet needs those two only."""
    resident = context.residents.get(nik)
    return nik in context.odgj or resident is None or resident.mental_illness


def _row(item: CaptureFacts, context: _Context, *, now: datetime, actor: str) -> dict[str, Any]:
    return {
        "recording_id": item.recording_id,
        "session_id": item.session_id,
        "nik": item.nik,
        "captured_at": item.captured_at,
        "kit_serial": item.kit_serial,
        "operator": item.operator,
        "captured": ",".join(canonical(list(item.captured))),
        "unknown_nik": item.nik not in context.residents,
        "village_code": context.sessions[item.session_id].village_code,
        "digest": item.digest,
        "uploaded_by": actor,
        "received_at": now,
    }


async def _insert(
    session: AsyncSession,
    outbox: Outbox,
    accepted: Sequence[tuple[int, dict[str, Any]]],
    context: _Context,
    *,
    now: datetime,
) -> dict[int, ItemResult]:
    """Insert the accepted rows. A row another upload inserted meanwhile (same id) is judged
    against the stored one instead, so nothing is written or published twice."""
    if not accepted:
        return {}
    connection = await session.connection()
    table = table_of(Recording)
    insert_into = postgresql_insert if is_postgres(connection.engine) else sqlite_insert
    statement = (
        insert_into(table)
        .values([row for _, row in accepted])
        .on_conflict_do_nothing(index_elements=["recording_id"])
        .returning(table.c.recording_id)
    )
    inserted = set((await connection.execute(statement)).scalars())
    raced = await _stored(
        session, [row["recording_id"] for _, row in accepted if row["recording_id"] not in inserted]
    )
    results: dict[int, ItemResult] = {}
    for index, row in accepted:
        recording_id = row["recording_id"]
        if recording_id in inserted:
            results[index] = ItemResult(recording_id, Outcome.ACCEPTED, Recording(**row))
        else:
            results[index] = _against(recording_id, row["digest"], raced[recording_id])
    new = [r.recording for r in results.values() if r.outcome is Outcome.ACCEPTED and r.recording]
    await outbox.add_many(session, [_event(r, context.sessions[r.session_id]) for r in new])
    await _settle(session, outbox, new, context, now=now)
    return results


def _event(recording: Recording, outreach_session: OutreachSession) -> RecordingCapturedV1:
    return RecordingCapturedV1(
        recording_id=recording.recording_id,
        nik=recording.nik,
        session_id=recording.session_id,
        village_code=recording.village_code,
        captured_at=recording.captured_at,
        kit_serial=recording.kit_serial,
        captured=tuple(recording.captured.split(",")),
        unknown_nik=recording.unknown_nik,
        team_id=outreach_session.team_id,
    )


async def _settle(
    session: AsyncSession,
    outbox: Outbox,
    recordings: Sequence[Recording],
    context: _Context,
    *,
    now: datetime,
) -> None:
    """What accepted recordings settle here: their residents count as recorded for planning,
    their appointments in the session are kept, their home-visit requests close."""
    if not recordings:
        return
    await resident_view.mark_recorded(session, [r.nik for r in recordings if not r.unknown_nik])
    by_place = {(r.session_id, r.nik): r.recording_id for r in recordings}
    booked = await session.exec(
        select(Appointment)
        .where(col(Appointment.nik).in_(sorted({nik for _, nik in by_place})))
        .where(col(Appointment.recording_id).is_(None))
    )
    for appointment in booked:
        recording_id = by_place.get((appointment.session_id, appointment.nik))
        if recording_id is not None:
            appointment.recording_id = recording_id
            session.add(appointment)
    await home_visits.close_by_recordings(
        session,
        outbox,
        [
            home_visits.ClosingRecording(
                nik=r.nik,
                recording_id=r.recording_id,
                session_id=r.session_id,
                team_id=context.sessions[r.session_id].team_id,
                kit_serial=r.kit_serial,
            )
            for r in recordings
        ],
        now=now,
    )


async def of_session(
    session: AsyncSession, session_id: str, *, limit: int, after: str | None
) -> Sequence[Recording]:
    query = (
        select(Recording)
        .where(col(Recording.session_id) == session_id)
        .order_by(col(Recording.recording_id))
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Recording.recording_id) > after)
    return (await session.exec(query)).all()


async def publish_flagged(session: AsyncSession, outbox: Outbox, niks: Sequence[str]) -> int:
    """Recordings kept for NIKs the register did not know, now that it does: the flag is
    cleared and `recording_captured.v1` goes out again (same recording id, `unknown_nik`
    false), so the register takes the recording in. Consumers treat the repeat as the same
    fact. Returns how many went out."""
    if not niks:
        return 0
    flagged = (
        await session.exec(
            select(Recording, OutreachSession)
            .join(OutreachSession, col(OutreachSession.id) == col(Recording.session_id))
            .where(col(Recording.nik).in_(sorted(set(niks))))
            .where(col(Recording.unknown_nik).is_(True))
            .order_by(col(Recording.captured_at))
        )
    ).all()
    for recording, _ in flagged:
        recording.unknown_nik = False
        session.add(recording)
    await outbox.add_many(session, [_event(r, s) for r, s in flagged])
    await session.flush()
    await resident_view.mark_recorded(session, [r.nik for r, _ in flagged])
    return len(flagged)
