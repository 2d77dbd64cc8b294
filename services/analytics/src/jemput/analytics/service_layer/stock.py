"""Blank-card stock per location from inventory's events, how many days it lasts, and the cards
owed: the print backlog and the SUKETs outstanding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.service_layer.coverage import within_area
from jemput.analytics.service_layer.generations import active_tables
from jemput.shared.reference.areas import Area

USE_WINDOW = 14
# Ledger entries that take blanks away from the available stock: set aside for a recorded
# resident, or lost in a failed print. (Consuming a reserved blank changes nothing available.)
USING_KINDS = ("RESERVED", "SPOILED")


@dataclass(frozen=True, slots=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    # Blanks used a day over the last USE_WINDOW days (SUKETs issued count as blanks wanted
    # in the total: a resident who got a SUKET had no blank to reserve).
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


async def stock(
    conn: AsyncConnection, area: Area, as_of: date, *, tables: ReadModelTables | None = None
) -> StockReport:
    tables = tables or await active_tables(conn)
    s, m, r = tables.stock.c, tables.stock_movement.c, tables.resident.c
    since = as_of - timedelta(days=USE_WINDOW)
    used = dict(
        (
            await conn.execute(
                select(m.location, func.sum(m.quantity))
                .where(m.entry_kind.in_(USING_KINDS), m.day > since, m.day <= as_of)
                .group_by(m.location)
            )
        ).all()
    )
    locations = [
        LocationStock(
            location=row.location,
            on_hand=row.on_hand,
            reserved=row.reserved,
            daily_use=int(used.get(row.location) or 0) / USE_WINDOW,
            low_threshold=row.low_threshold,
            changed_at=row.changed_at,
        )
        for row in (await conn.execute(select(tables.stock).order_by(s.location))).all()
    ]
    owed = (
        await conn.execute(
            select(
                func.sum(
                    case(
                        (
                            and_(
                                r.print_ready_on <= as_of,
                                or_(r.printed_on.is_(None), r.printed_on > as_of),
                                or_(r.left_on.is_(None), r.left_on > as_of),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                func.sum(
                    case(
                        (
                            and_(
                                r.suket_on <= as_of,
                                or_(r.issued_on.is_(None), r.issued_on > as_of),
                                or_(r.left_on.is_(None), r.left_on > as_of),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                func.sum(case((and_(r.suket_on > since, r.suket_on <= as_of), 1), else_=0)),
            ).where(within_area(tables, area))
        )
    ).one()
    backlog, sukets, sukets_recent = (int(v or 0) for v in owed)
    total = total_of(locations, sukets_recent / USE_WINDOW)
    return StockReport(area, as_of, locations, total, backlog, sukets, sukets_recent)


def total_of(locations: list[LocationStock], extra_daily_use: float = 0.0) -> LocationStock:
    """The locations together, flagged low by the same rule as each location: available below
    the threshold, the total's threshold being the sum of the thresholds known (none known,
    no flag). So a total of one location is low exactly when that location is."""
    thresholds = [x.low_threshold for x in locations if x.low_threshold is not None]
    return LocationStock(
        location="*",
        on_hand=sum(x.on_hand for x in locations),
        reserved=sum(x.reserved for x in locations),
        daily_use=sum(x.daily_use for x in locations) + extra_daily_use,
        low_threshold=sum(thresholds) if thresholds else None,
        changed_at=max((x.changed_at for x in locations if x.changed_at), default=None),
    )
