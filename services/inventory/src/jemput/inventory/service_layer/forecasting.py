"""The forecast of one location from its daily snapshots: the demand history corrected for
stock-out days, the stock, and the cards already owed (see `domain/forecast.py`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import OwedCount, StockBalance
from jemput.inventory.domain.forecast import DayUsage, Forecast, forecast
from jemput.inventory.domain.ledger import Stock
from jemput.inventory.service_layer import daily
from jemput.inventory.service_layer import owed as owed_counts
from jemput.inventory.service_layer.owed import Owed


@dataclass(frozen=True, slots=True)
class Horizon:
    """The settings a forecast is made with."""

    lead_time_days: int
    safety_days: int
    cover_days: int
    window_days: int


@dataclass(frozen=True, slots=True)
class LocationForecast:
    location: str
    today: date
    history: list[DayUsage]  # complete days only, from the location's first entry at most
    stock: Stock
    print_ready_backlog: int
    sukets_outstanding: int  # queries.outstanding, as `/v1/sukets` counts them
    sukets_waiting_for_blank: int  # of those, the ones whose job has no blank yet (owed)
    horizon: Horizon
    result: Forecast


async def usage_history(
    session: AsyncSession, location: str, first: date, last: date
) -> list[DayUsage]:
    """Day by day from `first` (or the location's first day) to `last`: blanks consumed and
    spoiled (less cards printed for SUKET holders, whose demand counted on their SUKET's day),
    SUKETs issued, and whether the location ran out of available blanks that day."""
    rows = await daily.window(session, location, first, last)
    if not rows:
        return []  # no entry yet, or none before today
    before = None
    if rows[0].day < first:
        before, rows = rows[0], rows[1:]
    else:
        first = rows[0].day  # the location's first day
    by_day = {row.day: row for row in rows}
    available = (before.on_hand - before.reserved) if before is not None else 0
    history = []
    day = first
    while day <= last:
        row = by_day.get(day)
        if row is None:
            history.append(DayUsage(day, 0, 0, out_of_stock=available <= 0))
        else:
            available = row.on_hand - row.reserved
            history.append(
                DayUsage(
                    day,
                    consumed=row.consumed + row.spoiled - row.suket_prints,
                    sukets_issued=row.sukets_issued,
                    out_of_stock=row.min_available <= 0 or row.sukets_issued > 0,
                )
            )
        day += timedelta(days=1)
    return history


async def owed(session: AsyncSession, location: str) -> tuple[int, int]:
    """Cards owed beyond the reserved blanks: print-ready jobs without a blank (and without a
    SUKET), and SUKET holders whose job has no blank yet. Each resident counts once. Read from
    the counts the print queue keeps (`owed.py`), never by counting jobs."""
    counts = await owed_counts.of(session, location)
    return counts.print_ready_backlog, counts.sukets_waiting_for_blank


@functools.cache
def _stock_and_owed_query() -> sa.Select[Any]:
    # Built once, as `daily.window`'s query.
    location = sa.bindparam("location", type_=sa.String())

    def one(column: Any, table: Any) -> Any:
        return select(column).where(table.location == location).scalar_subquery()

    return sa.select(
        one(col(StockBalance.on_hand), StockBalance),
        one(col(StockBalance.reserved), StockBalance),
        one(col(OwedCount.print_ready_backlog), OwedCount),
        one(col(OwedCount.sukets_waiting_for_blank), OwedCount),
        one(col(OwedCount.sukets_outstanding), OwedCount),
    )


async def stock_and_owed(session: AsyncSession, location: str) -> tuple[Stock, Owed]:
    """The running balance and the counts owed, in one round trip (zeros when absent)."""
    conn = await session.connection()
    row = (await conn.execute(_stock_and_owed_query(), {"location": location})).one()
    on_hand, reserved, backlog, waiting, outstanding = (int(value or 0) for value in row)
    return Stock(on_hand, reserved), Owed(backlog, waiting, outstanding)


async def for_location(
    session: AsyncSession, location: str, *, today: date, now: datetime, horizon: Horizon
) -> LocationForecast:
    last = today - timedelta(days=1)  # today is not over: it would pull the average down
    history = await usage_history(
        session, location, last - timedelta(days=horizon.window_days - 1), last
    )
    stock, counts = await stock_and_owed(session, location)
    backlog, sukets = counts.print_ready_backlog, counts.sukets_waiting_for_blank
    result = forecast(
        history,
        available=stock.available,
        print_ready_backlog=backlog,
        sukets_outstanding=sukets,
        lead_time_days=horizon.lead_time_days,
        safety_days=horizon.safety_days,
        cover_days=horizon.cover_days,
    )
    return LocationForecast(
        location, today, history, stock, backlog, counts.sukets_outstanding, sukets, horizon, result
    )
