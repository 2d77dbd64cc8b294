"""When blanks run out, and how many to ask the ministry for.

Days the office was out of stock hide demand: residents got a SUKET instead of a card. So the
average daily consumption counts, on those days, the SUKETs issued as demand too, and averages
over all days of the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    consumed: int  # blanks printed or spoiled
    sukets_issued: int  # residents turned away with a SUKET
    out_of_stock: bool  # no blank was available that day


@dataclass(frozen=True, slots=True)
class Forecast:
    daily_demand: float
    days_of_cover: float | None  # None: no demand at all
    reorder_point: int
    reorder_now: bool
    suggested_request: int


def daily_demand(history: Sequence[DayUsage]) -> float:
    """Blanks a day the office would use if it never ran out."""
    if not history:
        return 0.0
    demand = sum(d.consumed + (d.sukets_issued if d.out_of_stock else 0) for d in history)
    return demand / len(history)


def forecast(
    history: Sequence[DayUsage],
    *,
    available: int,
    print_ready_backlog: int,
    sukets_outstanding: int,
    lead_time_days: int = 30,
    safety_days: int = 7,
    cover_days: int = 60,
) -> Forecast:
    """Reorder point = demand over the ministry's lead time plus safety days; the request
    covers `cover_days` of demand plus the cards owed already (print-ready backlog and
    residents holding a SUKET), less what is available."""
    demand = daily_demand(history)
    reorder_point = math.ceil(demand * (lead_time_days + safety_days))
    owed = print_ready_backlog + sukets_outstanding
    wanted = math.ceil(demand * cover_days) + owed
    return Forecast(
        daily_demand=demand,
        days_of_cover=(available / demand) if demand > 0 else None,
        reorder_point=reorder_point,
        reorder_now=available - owed <= reorder_point,
        suggested_request=max(wanted - available, 0),
    )
