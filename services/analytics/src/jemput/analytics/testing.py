"""Helpers for analytics' own tests: events as the consumer hands them over, and residents.
Nothing here runs in production."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import read_model_tables
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.projections import handlers
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.inventory import (
    BlanksRequestedV1,
    CardPrintedV1,
    StockChangedV1,
    SuketIssuedV1,
)
from jemput.shared.events.outreach import (
    HomeVisitClosedV1,
    HomeVisitRequestedV1,
    RecordingCapturedV1,
    SessionCompletedV1,
    SessionScheduledV1,
)
from jemput.shared.events.residents import (
    DuplicateFlaggedV1,
    PrintReadyV1,
    ResidentRegisteredV1,
)
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.nik import Sex, make_nik
from jemput.shared.reference.areas import load_area_table
from jemput.shared.timezone import OFFICE_TIMEZONE, today_in_office

KAYU_AGUNG_VILLAGE = "16.02.05.1001"
LEMPUING_VILLAGE = "16.02.13.2005"
_WIB = ZoneInfo(OFFICE_TIMEZONE)


def inbound(
    payload: EventPayload, *, at: datetime | None = None, offset: int = 0
) -> InboundEvent[Any]:
    """The event as the consumer decodes it; `at` is when it occurred (ce_time)."""
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=payload.event_type,
        source=f"/jemput/{payload.producer}",
        time=at or datetime.now(UTC),
        data=payload.model_dump_json().encode(),
        subject=payload.subject(),
    )
    return InboundEvent(envelope, payload, f"jemput.{payload.producer}.v1", 0, offset)


def resident(
    village: str,
    born: date,
    *,
    marital: str = "BELUM_KAWIN",
    status: str = "BELUM_REKAM",
    serial: int = 1,
    **fields: Any,
) -> ResidentRegisteredV1:
    return ResidentRegisteredV1(
        nik=make_nik(village[:8], born, Sex.MALE, serial),
        village_code=village,
        birth_date=born,
        sex="L",
        marital_status=marital,
        ektp_status=status,
        **fields,
    )


async def apply(
    engine: AsyncEngine,
    events: Sequence[InboundEvent[Any]],
    registry: EventHandlers | None = None,
) -> None:
    """Apply events straight to the read models, one transaction, no inbox: what the
    projections do with repeats is theirs to get right."""
    async with AsyncSession(engine) as session, session.begin():
        await (registry or handlers()).apply(session, events)


async def empty_read_models(engine: AsyncEngine, generation: int = 1) -> None:
    """A generation's tables as a fresh migration leaves them: no rows, empty aggregates."""
    tables = read_model_tables(generation)
    async with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            await conn.execute(table.delete())
        await aggregates.clear(conn, tables)
        await aggregates.build(conn, tables, today_in_office())


Timed = tuple[EventPayload, datetime]


def scenario(today: date, *, seed: int = 1, villages_per_district: int = 3) -> list[Timed]:
    """A small drive in six districts of OKI up to `today`, as the other services would have
    published it: the register, recordings by teams in sessions, prints, issues, SUKETs and
    the office's blank stock. Deterministic for a seed and a day."""
    rng = random.Random(seed)
    areas = load_area_table()
    start = today - timedelta(days=45)

    def moment(day: date, hour: int = 10) -> datetime:
        return datetime.combine(day, time(hour), _WIB)

    events: list[Timed] = []
    serial = 0
    # Its own generator, so the rest of the scenario stays what it was without home visits.
    visits_rng = random.Random(seed + 1)
    recordings_per_day: dict[date, int] = {}
    for team_number, district in enumerate(areas.children("16.02")[:6], start=1):
        team = f"tim-{team_number}"
        kits = (f"OKI-{team_number:02d}A", f"OKI-{team_number:02d}B")
        for village in areas.children(district.code)[:villages_per_district]:
            drive_days = sorted(
                {start + timedelta(days=rng.randrange(5, 46)) for _ in range(2)} - {today}
            )
            sessions = []
            for day in drive_days:
                session_id = f"{village.code}-{day.isoformat()}"
                sessions.append((session_id, day))
                common = {
                    "session_id": session_id,
                    "kind": "village_drive",
                    "village_code": village.code,
                    "day": day,
                    "team_id": team,
                }
                events.append(
                    (
                        SessionScheduledV1(**common, planned_capacity=160, kit_serials=kits),
                        moment(start),
                    )
                )
            recorded_in: dict[str, int] = {}
            for _ in range(rng.randint(18, 30)):
                serial += 1
                minor = rng.random() < 0.12
                born = (
                    today - timedelta(days=17 * 365 - rng.randrange(1, 60))
                    if minor
                    else date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28))
                )
                married = not minor and rng.random() < 0.7
                status = "BELUM_REKAM"
                if not minor and rng.random() < 0.45:
                    status = rng.choice(("SUDAH_REKAM", "PRINT_READY_RECORD", "CARD_ISSUED"))
                person = ResidentRegisteredV1(
                    nik=make_nik(district.code, born, Sex.FEMALE, serial % 9999 + 1),
                    village_code=village.code,
                    birth_date=born,
                    sex="P",
                    marital_status="KAWIN" if married else "BELUM_KAWIN",
                    ektp_status=status,
                )
                events.append((person, moment(start - timedelta(days=15))))
                if status != "BELUM_REKAM" or minor or not sessions or rng.random() < 0.35:
                    continue
                session_id, day = rng.choice(sessions)
                recorded_in[session_id] = recorded_in.get(session_id, 0) + 1
                recordings_per_day[day] = recordings_per_day.get(day, 0) + 1
                captured = moment(day, rng.randint(8, 15))
                events.append(
                    (
                        RecordingCapturedV1(
                            recording_id=f"rec-{serial}",
                            nik=person.nik,
                            session_id=session_id,
                            village_code=village.code,
                            team_id=team,
                            kit_serial=rng.choice(kits),
                            captured_at=captured,
                        ),
                        captured,
                    )
                )
                pipeline = rng.random()
                decided = day + timedelta(days=2)
                if pipeline < 0.5 and decided <= today:
                    events.append(
                        (
                            PrintReadyV1(
                                nik=person.nik,
                                village_code=village.code,
                                decided_at=moment(decided),
                            ),
                            moment(decided),
                        )
                    )
                    if pipeline < 0.2 and decided + timedelta(days=1) <= today:
                        printed = moment(decided + timedelta(days=1))
                        events.append(
                            (
                                CardPrintedV1(
                                    nik=person.nik, job_id=f"job-{serial}", printed_at=printed
                                ),
                                printed,
                            )
                        )
                    elif pipeline < 0.3:
                        events.append(
                            (
                                SuketIssuedV1(
                                    nik=person.nik,
                                    suket_number=f"SKT-{serial}",
                                    issued_at=moment(decided),
                                    valid_until=decided + timedelta(days=180),
                                ),
                                moment(decided),
                            )
                        )
                elif pipeline > 0.95:
                    events.append(
                        (
                            DuplicateFlaggedV1(
                                nik=person.nik,
                                village_code=village.code,
                                decided_at=moment(decided),
                            ),
                            moment(decided),
                        )
                    )
            for session_id, day in sessions:
                if day >= today:
                    continue
                common = {
                    "session_id": session_id,
                    "kind": "village_drive",
                    "village_code": village.code,
                    "day": day,
                    "team_id": team,
                }
                done = recorded_in.get(session_id, 0)
                events.append(
                    (
                        SessionCompletedV1(
                            **common,
                            completed_at=moment(day, 17),
                            recorded=done,
                            failed_to_record=0,
                            under_age=0,
                            already_has_card=0,
                            absent=0,
                            uploaded_recordings=done,
                        ),
                        moment(day, 17),
                    )
                )
            events += _home_visits(village.code, team, sessions, today, visits_rng, moment)
    on_hand, reserved = 600, 0
    events.append(
        (
            StockChangedV1(
                location="kantor",
                entry_kind="RECEIVED",
                quantity=600,
                on_hand=600,
                reserved=0,
                at=moment(start),
            ),
            moment(start),
        )
    )
    for day in sorted(recordings_per_day):
        reserved += recordings_per_day[day]
        at = moment(day, 18)
        events.append(
            (
                StockChangedV1(
                    location="kantor",
                    entry_kind="RESERVED",
                    quantity=recordings_per_day[day],
                    on_hand=on_hand,
                    reserved=reserved,
                    at=at,
                ),
                at,
            )
        )
    # The office asked the ministry for blanks a fortnight ago; none has arrived since.
    asked = moment(today - timedelta(days=14), 9)
    request = BlanksRequestedV1(
        location="kantor",
        request_id="req-kantor-1",
        quantity=500,
        suggested_quantity=480,
        daily_demand=8.0,
        available=on_hand - reserved,
        requested_at=asked,
    )
    events.append((request, asked))
    events.sort(key=lambda timed: timed[1])
    return events


def _home_visits(
    village: str,
    team: str,
    sessions: Sequence[tuple[str, date]],
    today: date,
    rng: random.Random,
    moment: Callable[..., datetime],
) -> list[Timed]:
    """A home-visit request in the village, due around its first session: closed by that
    session (in time or a day late) once the day has gone by, otherwise still open."""
    if not sessions:
        return []
    session_id, day = sessions[0]
    opened = HomeVisitRequestedV1(
        home_visit_id=f"hv-{session_id}",
        nik=make_nik(village[:8], date(1950, 1, 1), Sex.FEMALE, 9000 + int(village[-4:]) % 999),
        village_code=village,
        requested_at=moment(day - timedelta(days=3)),
        deadline=day + timedelta(days=rng.choice((-1, 0, 1))),
    )
    timed: list[Timed] = [(opened, opened.requested_at)]
    if day < today:
        closed = HomeVisitClosedV1(
            **opened.model_dump(),
            closed_at=moment(day, 11),
            outcome=rng.choice(("refused", "unreachable")),
            session_id=session_id,
            team_id=team,
        )
        timed.append((closed, closed.closed_at))
    return timed


async def publish(bootstrap: str, namespace: str, events: Sequence[Timed]) -> None:
    """Publish events as their producers' relays would: CloudEvents on each producer's topic,
    keyed by the entity."""
    topics = {f"{namespace}jemput.{p.producer}.v1" for p, _ in events}
    await ensure_topics(bootstrap, topics, partitions=3)
    producer = make_producer(bootstrap, client_id="jemput-test-publisher")
    await producer.start()
    try:
        for payload, at in events:
            envelope = CloudEvent(
                id=CloudEvent.new_id(),
                type=payload.event_type,
                source=f"/jemput/{payload.producer}",
                time=at,
                data=payload.model_dump_json().encode(),
                subject=payload.subject(),
            )
            await producer.send(
                f"{namespace}jemput.{payload.producer}.v1",
                envelope.data,
                key=payload.partition_key().encode(),
                headers=envelope.headers(),
            )
        await producer.flush()
    finally:
        await producer.stop()
