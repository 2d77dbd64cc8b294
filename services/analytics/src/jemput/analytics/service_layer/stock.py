"""Blank-card stock per location from inventory's events, how many days it lasts, and the cards
owed: the print backlog and the SUKETs outstanding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.domain.area_changes import AWAITING_PRINT, SUKET_DAY
from jemput.analytics.domain.blank_requests import Request, RequestState, settle
from jemput.analytics.service_layer import aggregates
from jemput.analytics.service_layer.generations import active_tables
from jemput.analytics.service_layer.projections import SUKET_ISSUED, SUKET_PRINT
from jemput.shared.reference.areas import Area

USE_WINDOW = 14  # days of `sukets_issued_recently`
# The days daily demand is averaged over: inventory's FORECAST_WINDOW_DAYS (90) by default.
DEMAND_WINDOW = 90
# Daily demand is inventory's forecast's (docs/inventory.md, Forecast): blanks printed and
# spoiled, less the cards printed for SUKET holders (their demand counted on the SUKET's day),
# plus the residents turned away with a SUKET. A blank reserved is not demand yet: the resident
# who takes it is counted when it is printed (or on the SUKET's day), so none counts twice.
DEMAND_SIGNS = {"CONSUMED": 1, "SPOILED": 1, SUKET_ISSUED: 1, SUKET_PRINT: -1}
# Requests older than this are taken as answered or abandoned.
REQUESTS_WINDOW = 365


@dataclass(frozen=True, slots=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    # Daily demand for blanks, as inventory's forecast computes it (`daily_demand`).
    daily_use: float
    low_threshold: int | None
    changed_at: datetime | None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def days_of_cover(self) -> float | None:
        return self.available / self.daily_use if self.daily_use > 0 else None

    @property
    def low(self) -> bool:
        return self.low_threshold is not None and self.available < self.low_threshold


@dataclass(frozen=True, slots=True)
class StockReport:
    area: Area
    as_of: date
    locations: list[LocationStock]
    total: LocationStock
    # Of the area's residents: print-ready and not printed yet; holding a SUKET.
    print_backlog: int
    suket_outstanding: int
    sukets_issued_recently: int  # in the last USE_WINDOW days
    # The requests to the ministry of the last REQUESTS_WINDOW days, oldest first.
    requests: list[RequestState]

    @property
    def owed(self) -> int:
        """The cards owed without a blank: the print backlog less the blanks reserved (a
        reservation holds a blank for a print-ready resident until the print)."""
        return max(self.print_backlog - self.total.reserved, 0)

    @property
    def open_requests(self) -> list[RequestState]:
        return [r for r in self.requests if r.outstanding > 0]


async def stock(
    conn: AsyncConnection,
    area: Area,
    as_of: date,
    *,
    tables: ReadModelTables | None = None,
    demand_window: int = DEMAND_WINDOW,
) -> StockReport:
    tables = tables or await active_tables(conn)
    s = tables.stock.c
    since = as_of - timedelta(days=USE_WINDOW)
    rows = (await conn.execute(select(tables.stock).order_by(s.location))).all()
    demand = await daily_demand(conn, tables, [row.location for row in rows], as_of, demand_window)
    locations = [
        LocationStock(
            location=row.location,
            on_hand=row.on_hand,
            reserved=row.reserved,
            daily_use=demand.get(row.location, 0.0),
            low_threshold=row.low_threshold,
            changed_at=row.changed_at,
        )
        for row in rows
    ]
    # The blanks owed: the area's print-ready residents without a card, its SUKET holders, and
    # the SUKETs of the last USE_WINDOW days, from the aggregates.
    own = (await aggregates.counts(conn, tables, as_of, codes=[area.code])).get(area.code, {})
    issued = await aggregates.daily(
        conn, tables, SUKET_DAY, since + timedelta(days=1), as_of, codes=[area.code]
    )
    backlog = own.get(AWAITING_PRINT, 0)
    sukets = own.get("suket_outstanding", 0)
    sukets_recent = sum(issued.get(area.code, {}).values())
    total = total_of(locations)
    requests = await ministry_requests(conn, tables, as_of)
    return StockReport(area, as_of, locations, total, backlog, sukets, sukets_recent, requests)


async def ministry_requests(
    conn: AsyncConnection, tables: ReadModelTables, as_of: date
) -> list[RequestState]:
    """The requests of the REQUESTS_WINDOW days up to `as_of`, each with the blanks received
    at its location since the location's oldest of them served to it (`settle`)."""
    b, m = tables.blank_request.c, tables.stock_movement.c
    rows = (
        await conn.execute(
            select(b.request_id, b.location, b.quantity, b.requested_at, b.requested_on).where(
                b.requested_on <= as_of,
                b.requested_on > as_of - timedelta(days=REQUESTS_WINDOW),
            )
        )
    ).all()
    requests = [Request(*row) for row in rows]
    oldest: dict[str, date] = {}
    for r in requests:
        oldest[r.location] = min(r.requested_on, oldest.get(r.location, r.requested_on))
    received = {}
    for location, since in oldest.items():
        # The receipts of the day of the request count: the ledger's day has no hour.
        total = await conn.execute(
            select(func.sum(m.quantity)).where(
                m.location == location,
                m.entry_kind == "RECEIVED",
                m.day >= since,
                m.day <= as_of,
            )
        )
        received[location] = int(total.scalar() or 0)
    return settle(requests, received)


async def daily_demand(
    conn: AsyncConnection, tables: ReadModelTables, locations: list[str], as_of: date, window: int
) -> dict[str, float]:
    """Each location's daily demand as inventory's `/v1/forecast` gives it on `as_of`: the
    demand of the `window` complete days before `as_of` (that day is not over), from the
    location's first day at most, divided by those days."""
    m = tables.stock_movement.c
    last = as_of - timedelta(days=1)
    demand = {}
    for location in locations:
        # One indexed lookup per location (the index is on location, day).
        opened = (
            await conn.execute(select(func.min(m.day)).where(m.location == location))
        ).scalar()
        if opened is None:
            continue
        first = max(_as_date(opened), last - timedelta(days=window - 1))
        days = (last - first).days + 1
        if days <= 0:
            demand[location] = 0.0
            continue
        signed = case(
            *((m.entry_kind == kind, sign * m.quantity) for kind, sign in DEMAND_SIGNS.items()),
            else_=0,
        )
        total = (
            await conn.execute(
                select(func.sum(signed)).where(
                    m.location == location,
                    m.day >= first,
                    m.day <= last,
                    m.entry_kind.in_(list(DEMAND_SIGNS)),
                )
            )
        ).scalar()
        demand[location] = int(total or 0) / days
    return demand


def _as_date(value: date | str) -> date:
    # SQLite hands back MIN() of a DATE column as text.
    return value if isinstance(value, date) else date.fromisoformat(value)


def total_of(locations: list[LocationStock]) -> LocationStock:
    """The locations together, flagged low by the same rule as each location: available below
    the threshold, the total's threshold being the sum of the thresholds known (none known,
    no flag). So a total of one location is low exactly when that location is."""
    thresholds = [x.low_threshold for x in locations if x.low_threshold is not None]
    return LocationStock(
        location="*",
        on_hand=sum(x.on_hand for x in locations),
        reserved=sum(x.reserved for x in locations),
        daily_use=sum(x.daily_use for x in locations),
        low_threshold=sum(thresholds) if thresholds else None,
        changed_at=max((x.changed_at for x in locations if x.changed_at), default=None),
    )
