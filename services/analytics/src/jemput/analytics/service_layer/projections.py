"""Event handlers that keep the read models of one generation.

Each batch handler reads the rows its events touch, merges the events into them with the
order-free rules of `domain.resident_facts` (and the same idea for sessions, stock and home
visits), and
writes them back in one upsert, as the only writer of the generation (`lock_for_writing`).
So the numbers do not depend on the order events arrive in, and applying an event twice changes
nothing: the inbox skips repeats already, and a rebuild's last pass re-applies on purpose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.domain.area_changes import ChangeKey, difference
from jemput.analytics.domain.resident_facts import ResidentFacts, Snapshot
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.aggregates import facts_of
from jemput.analytics.service_layer.generations import active_tables, lock_for_writing
from jemput.shared.db import dialect_insert
from jemput.shared.events.base import EventPayload
from jemput.shared.events.inventory import (
    BlanksRequestedV1,
    CardIssuedV1,
    CardPrintedV1,
    StockChangedV1,
    StockLowV1,
    SuketIssuedV1,
    SuketRevokedV1,
)
from jemput.shared.events.outreach import (
    HomeVisitClosedV1,
    HomeVisitEvent,
    HomeVisitRequestedV1,
    RecordingCapturedV1,
    SessionCancelledV1,
    SessionCompletedV1,
    SessionEvent,
    SessionScheduledV1,
)
from jemput.shared.events.residents import (
    DuplicateFlaggedV1,
    EktpStatusChangedV1,
    PrintReadyV1,
    ResidentChangedV1,
    ResidentDiedV1,
    ResidentMovedOutV1,
    ResidentRegisteredV1,
    ResidentSnapshot,
    SuketStatusChangedV1,
)
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.timezone import office_day, today_in_office

TablesFor = Callable[[AsyncConnection], Awaitable[ReadModelTables]]
Change = Callable[[ResidentFacts], ResidentFacts]
# Rows per upsert statement: well under SQLite's limit of bound parameters.
_ROWS_PER_STATEMENT = 1000
# Where a session keeps the generation it writes to, with the transaction that locked it.
_HELD = "analytics.generation"
# Later states win over earlier ones whatever order the session's events arrive in.
_SESSION_STATE_RANK = {"scheduled": 0, "completed": 1, "cancelled": 1}


def _utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC) if instant.tzinfo else instant.replace(tzinfo=UTC)


def _snapshot(event: InboundEvent[ResidentSnapshot]) -> Change:
    p = event.payload
    snapshot = Snapshot(
        village_code=p.village_code,
        birth_date=p.birth_date,
        ever_married=p.marital_status != "BELUM_KAWIN",
        living_here=p.domicile_status == "RESIDENT",
        ektp_status=p.ektp_status,
        suket_outstanding=p.suket_outstanding,
        at=_utc(event.envelope.time),
        recorded_on=office_day(_utc(p.recorded_at)) if p.recorded_at is not None else None,
    )
    return lambda facts: facts.with_snapshot(snapshot)


def _resident_change(event: InboundEvent[Any]) -> Change:
    """How one event changes the facts of its resident."""
    p: EventPayload = event.payload
    if isinstance(p, ResidentSnapshot):
        return _snapshot(event)
    if isinstance(p, ResidentMovedOutV1):
        moved_on, at = p.moved_on, _utc(event.envelope.time)
        return lambda facts: facts.with_departure(moved_on, at)
    if isinstance(p, ResidentDiedV1):
        died_on, at = p.died_on, _utc(event.envelope.time)
        return lambda facts: facts.with_departure(died_on, at)
    if isinstance(p, EktpStatusChangedV1):
        status, changed = p.to_status, _utc(p.changed_at)
        holds_suket = p.suket_outstanding

        def status_changed(facts: ResidentFacts) -> ResidentFacts:
            facts = facts.with_status(status, office_day(changed), changed)
            return facts.suket(office_day(changed)) if holds_suket else facts

        return status_changed
    if isinstance(p, PrintReadyV1):
        decided = _utc(p.decided_at)
        return lambda facts: facts.print_ready(office_day(decided), decided)
    if isinstance(p, DuplicateFlaggedV1):
        flagged = _utc(p.decided_at)
        return lambda facts: facts.duplicate(flagged)
    if isinstance(p, RecordingCapturedV1):
        captured = office_day(p.captured_at)
        return lambda facts: facts.recorded(captured)
    if isinstance(p, CardPrintedV1):
        printed = office_day(p.printed_at)
        return lambda facts: facts.printed(printed)
    if isinstance(p, CardIssuedV1):
        issued = office_day(p.issued_at)
        return lambda facts: facts.issued(issued)
    if isinstance(p, SuketIssuedV1):
        suket, issued = office_day(p.issued_at), _utc(event.envelope.time)
        return lambda facts: facts.suket(suket, issued)
    if isinstance(p, SuketRevokedV1):
        revoked = _utc(p.revoked_at)
        return lambda facts: facts.suket_revoked(office_day(revoked), revoked)
    if isinstance(p, SuketStatusChangedV1):
        # The register's flag: set, it dates the SUKET; cleared, the events that cleared it
        # (card_issued, suket_revoked) come from inventory and count themselves.
        if not p.suket_outstanding:
            return lambda facts: facts
        flagged_on = office_day(p.changed_at)
        return lambda facts: facts.suket(flagged_on)
    raise TypeError(f"not an event about a resident: {type(p).__name__}")


# Demand for blanks that no ledger entry shows, kept beside the ledger's movements (see
# `service_layer/stock.py`): a resident turned away with a SUKET, counted at the moment
# inventory counted it (the event's time); a card printed for a SUKET holder, whose demand was
# counted on the SUKET's day.
SUKET_ISSUED = "SUKET_ISSUED"
SUKET_PRINT = "SUKET_PRINT"


def _demand_movements(events: Sequence[InboundEvent[Any]]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        p = event.payload
        if isinstance(p, SuketIssuedV1):
            kind, location, day = SUKET_ISSUED, p.location, office_day(event.envelope.time)
        elif isinstance(p, CardPrintedV1) and p.suket_holder:
            kind, location, day = SUKET_PRINT, p.location, office_day(p.printed_at)
        else:
            continue
        rows.append(
            {
                "event_id": event.id,
                "location": location,
                "day": day,
                "entry_kind": kind,
                "quantity": 1,
            }
        )
    return rows


async def _upsert(
    conn: AsyncConnection, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert the rows, or replace every column of the ones that exist. One statement run
    with many parameter sets: compiled once and cached, sent in pages by the driver."""
    if not rows:
        return
    statement = dialect_insert(conn, table)
    statement = statement.on_conflict_do_update(
        index_elements=[key], set_={c: statement.excluded[c] for c in rows[0] if c != key}
    )
    await conn.execute(statement, list(rows))


async def _insert_new(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), list(rows))


async def _stored(
    conn: AsyncConnection, table: Table, key: str, keys: Iterable[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    wanted = list(keys)
    for start in range(0, len(wanted), _ROWS_PER_STATEMENT):
        chunk = wanted[start : start + _ROWS_PER_STATEMENT]
        rows = await conn.execute(select(table).where(table.c[key].in_(chunk)))
        for row in rows.mappings():
            found[row[key]] = dict(row)
    return found


_FACT_FIELDS = tuple(f.name for f in fields(ResidentFacts))


def _facts_row(facts: ResidentFacts) -> dict[str, Any]:
    row = {name: getattr(facts, name) for name in _FACT_FIELDS}
    row["district_code"], row["regency_code"] = facts.district_code, facts.regency_code
    return row


class Projections:
    """The handlers, writing to the generation `tables_for` names (the active one by default;
    a rebuild names the one it builds)."""

    def __init__(self, tables_for: TablesFor | None = None) -> None:
        self._tables_for = tables_for or active_tables

    async def _tables(self, session: AsyncSession) -> tuple[AsyncConnection, ReadModelTables]:
        """The generation to write and its lock, found once per transaction: a batch of mixed
        event types calls the handlers many times."""
        conn = await session.connection()
        transaction = session.get_transaction()
        held = session.info.get(_HELD)
        if held is not None and held[0] is transaction:
            return conn, held[1]
        tables = await self._tables_for(conn)
        await lock_for_writing(conn, tables.generation)
        session.info[_HELD] = (transaction, tables)
        return conn, tables

    async def on_resident_events(
        self, session: AsyncSession, events: Sequence[InboundEvent[Any]]
    ) -> None:
        conn, tables = await self._tables(session)
        await self._change_residents(
            conn, tables, [(e.payload.nik, _resident_change(e)) for e in events]
        )
        await _insert_new(conn, tables.stock_movement, _demand_movements(events))

    async def _change_residents(
        self, conn: AsyncConnection, tables: ReadModelTables, changes: Sequence[tuple[str, Change]]
    ) -> None:
        """Merge the events into their residents' facts, and what that changes in the counts
        into the aggregates, in the same transaction."""
        stored = await _stored(conn, tables.resident, "nik", {nik for nik, _ in changes})
        before = {nik: facts_of(row) for nik, row in stored.items()}
        facts = dict(before)
        for nik, change in changes:
            facts[nik] = change(facts.get(nik) or ResidentFacts(nik=nik))
        await _upsert(conn, tables.resident, "nik", [_facts_row(f) for f in facts.values()])
        delta: Counter[ChangeKey] = Counter()
        for nik, after in facts.items():
            delta.update(difference(before.get(nik), after))
        await aggregates.add(conn, tables, delta, today_in_office())

    async def on_recordings(
        self, session: AsyncSession, events: Sequence[InboundEvent[RecordingCapturedV1]]
    ) -> None:
        """A field recording counts toward coverage at once, and toward its team's and kit's
        productivity (once per recording id: outreach may publish a recording again)."""
        conn, tables = await self._tables(session)
        await self._change_residents(
            conn, tables, [(e.payload.nik, _resident_change(e)) for e in events]
        )
        rows = {
            e.payload.recording_id: {
                "recording_id": e.payload.recording_id,
                "nik": e.payload.nik,
                "session_id": e.payload.session_id,
                "team_id": e.payload.team_id,
                "kit_serial": e.payload.kit_serial,
                "village_code": e.payload.village_code,
                "captured_on": office_day(e.payload.captured_at),
            }
            for e in events
        }
        await _insert_new(conn, tables.recording, list(rows.values()))

    async def on_sessions(
        self, session: AsyncSession, events: Sequence[InboundEvent[SessionEvent]]
    ) -> None:
        conn, tables = await self._tables(session)
        stored = await _stored(
            conn, tables.session, "session_id", {e.payload.session_id for e in events}
        )
        for event in events:
            p = event.payload
            row = stored.get(p.session_id) or {
                "session_id": p.session_id,
                "state": "scheduled",
                "planned_capacity": None,
                "kit_serials": None,
                "reported_recorded": None,
                "closed_at": None,
            }
            row |= {"kind": p.kind, "village_code": p.village_code, "day": p.day}
            row["team_id"] = p.team_id
            if isinstance(p, SessionScheduledV1):
                row |= {
                    "planned_capacity": p.planned_capacity,
                    "kit_serials": " ".join(p.kit_serials),
                }
            elif isinstance(p, SessionCompletedV1):
                row |= {"reported_recorded": p.recorded, "closed_at": _utc(p.completed_at)}
            elif isinstance(p, SessionCancelledV1):
                row["closed_at"] = _utc(p.cancelled_at)
            state = _session_state(p)
            if _SESSION_STATE_RANK[state] >= _SESSION_STATE_RANK[row["state"]]:
                row["state"] = state
            stored[p.session_id] = row
        await _upsert(conn, tables.session, "session_id", list(stored.values()))

    async def on_stock_changed(
        self, session: AsyncSession, events: Sequence[InboundEvent[StockChangedV1]]
    ) -> None:
        """The newest stock of each location wins (by its time, then its offset)."""
        conn, tables = await self._tables(session)
        await _insert_new(
            conn,
            tables.stock_movement,
            [
                {
                    "event_id": e.id,
                    "location": e.payload.location,
                    "day": office_day(e.payload.at),
                    "entry_kind": e.payload.entry_kind,
                    "quantity": e.payload.quantity,
                }
                for e in events
            ],
        )
        stored = await _stored(conn, tables.stock, "location", {e.payload.location for e in events})
        for event in events:
            p = event.payload
            row = stored.get(p.location)
            version = (_utc(p.at), event.offset)
            if row is not None and (row["changed_at"], row["changed_offset"]) >= version:
                continue
            stored[p.location] = (row or {"low_threshold": None, "low_at": None}) | {
                "location": p.location,
                "on_hand": p.on_hand,
                "reserved": p.reserved,
                "changed_at": version[0],
                "changed_offset": version[1],
            }
        await _upsert(conn, tables.stock, "location", list(stored.values()))

    async def on_stock_low(
        self, session: AsyncSession, events: Sequence[InboundEvent[StockLowV1]]
    ) -> None:
        """The location's threshold and when it was last crossed (the stock itself comes with
        stock_changed, published in the same transaction)."""
        conn, tables = await self._tables(session)
        stored = await _stored(conn, tables.stock, "location", {e.payload.location for e in events})
        for event in events:
            p = event.payload
            at = _utc(p.at)
            row = stored.get(p.location) or {
                "location": p.location,
                "on_hand": p.available,
                "reserved": 0,
                "changed_at": at,
                "changed_offset": -1,  # any stock_changed of the location replaces it
                "low_at": None,
            }
            if row["low_at"] is None or at >= row["low_at"]:
                row |= {"low_threshold": p.threshold, "low_at": at}
            stored[p.location] = row
        await _upsert(conn, tables.stock, "location", list(stored.values()))

    async def on_home_visits(
        self, session: AsyncSession, events: Sequence[InboundEvent[HomeVisitEvent]]
    ) -> None:
        """A request's facts come with either event; its closing only with the closed one, and
        a request opened (again) never reopens it. Should two closings differ, the earlier one
        stands, whatever order they arrive in."""
        conn, tables = await self._tables(session)
        stored = await _stored(
            conn, tables.home_visit, "home_visit_id", {e.payload.home_visit_id for e in events}
        )
        for event in events:
            p = event.payload
            row = stored.get(p.home_visit_id) or {
                "home_visit_id": p.home_visit_id,
                **dict.fromkeys(_CLOSING_COLUMNS),
            }
            row |= {
                "village_code": p.village_code,
                "requested_at": _utc(p.requested_at),
                "deadline": p.deadline,
            }
            if isinstance(p, HomeVisitClosedV1):
                closing = _closing(p)
                if row["closed_at"] is None or _closing_order(closing) < _closing_order(row):
                    row |= closing
            stored[p.home_visit_id] = row
        await _upsert(conn, tables.home_visit, "home_visit_id", list(stored.values()))

    async def on_blanks_requested(
        self, session: AsyncSession, events: Sequence[InboundEvent[BlanksRequestedV1]]
    ) -> None:
        """A request is known once; a repeat of its event changes nothing."""
        conn, tables = await self._tables(session)
        await _insert_new(
            conn,
            tables.blank_request,
            [
                {
                    "request_id": e.payload.request_id,
                    "location": e.payload.location,
                    "quantity": e.payload.quantity,
                    "suggested_quantity": e.payload.suggested_quantity,
                    "requested_at": _utc(e.payload.requested_at),
                    "requested_on": office_day(e.payload.requested_at),
                }
                for e in {e.payload.request_id: e for e in events}.values()
            ],
        )

    def handlers(self) -> EventHandlers:
        registry = EventHandlers()
        for resident_event in (
            ResidentRegisteredV1,
            ResidentChangedV1,
            ResidentMovedOutV1,
            ResidentDiedV1,
            EktpStatusChangedV1,
            PrintReadyV1,
            DuplicateFlaggedV1,
            CardPrintedV1,
            CardIssuedV1,
            SuketIssuedV1,
            SuketRevokedV1,
            SuketStatusChangedV1,
        ):
            registry.add_batch(resident_event, self.on_resident_events)
        registry.add_batch(RecordingCapturedV1, self.on_recordings)
        for session_event in (SessionScheduledV1, SessionCompletedV1, SessionCancelledV1):
            registry.add_batch(session_event, self.on_sessions)
        registry.add_batch(StockChangedV1, self.on_stock_changed)
        registry.add_batch(StockLowV1, self.on_stock_low)
        registry.add_batch(BlanksRequestedV1, self.on_blanks_requested)
        for home_visit_event in (HomeVisitRequestedV1, HomeVisitClosedV1):
            registry.add_batch(home_visit_event, self.on_home_visits)
        return registry


_CLOSING_COLUMNS = (
    "closed_at",
    "closed_on",
    "outcome",
    "session_id",
    "team_id",
    "kit_serial",
    "recording_id",
)


def _closing(payload: HomeVisitClosedV1) -> dict[str, Any]:
    closed_at = _utc(payload.closed_at)
    return {
        "closed_at": closed_at,
        "closed_on": office_day(closed_at),
        "outcome": payload.outcome,
        "session_id": payload.session_id,
        "team_id": payload.team_id,
        "kit_serial": payload.kit_serial,
        "recording_id": payload.recording_id,
    }


def _closing_order(closing: dict[str, Any]) -> tuple[Any, ...]:
    """Earlier closings first; between two at the same moment, any fixed order will do."""
    return (_utc(closing["closed_at"]), *(closing[c] or "" for c in _CLOSING_COLUMNS[2:]))


def _session_state(payload: SessionEvent) -> str:
    if isinstance(payload, SessionCompletedV1):
        return "completed"
    if isinstance(payload, SessionCancelledV1):
        return "cancelled"
    return "scheduled"


def handlers(tables_for: TablesFor | None = None) -> EventHandlers:
    """The analytics consumer's handler map."""
    return Projections(tables_for).handlers()
