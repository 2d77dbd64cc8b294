"""The request to the ministry for blanks: inventory's rule for the quantity to ask
(docs/inventory.md, Forecast), and which of the requests made are still waiting for blanks."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

# inventory's defaults: MINISTRY_LEAD_TIME_DAYS, SAFETY_DAYS, REQUEST_COVER_DAYS.
LEAD_TIME_DAYS = 30
SAFETY_DAYS = 7
REQUEST_COVER_DAYS = 60


@dataclass(frozen=True, slots=True)
class Suggestion:
    reorder_point: int
    reorder_now: bool
    quantity: int


def suggest(
    daily_demand: float,
    available: int,
    owed: int,
    *,
    lead_time_days: int = LEAD_TIME_DAYS,
    safety_days: int = SAFETY_DAYS,
    cover_days: int = REQUEST_COVER_DAYS,
) -> Suggestion:
    """Reorder point = ⌈demand x (lead time + safety days)⌉; reorder now when available - owed
    is at or below it; ask for max(⌈demand x cover days⌉ + owed - available, 0)."""
    reorder_point = math.ceil(daily_demand * (lead_time_days + safety_days))
    return Suggestion(
        reorder_point=reorder_point,
        reorder_now=available - owed <= reorder_point,
        quantity=max(math.ceil(daily_demand * cover_days) + owed - available, 0),
    )


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    location: str
    quantity: int
    requested_at: datetime
    requested_on: date


@dataclass(frozen=True, slots=True)
class RequestState:
    request: Request
    received: int  # of the blanks received at its location since, the part that served it

    @property
    def outstanding(self) -> int:
        return max(self.request.quantity - self.received, 0)


def settle(requests: Iterable[Request], received: dict[str, int]) -> list[RequestState]:
    """Each location's blanks received since its oldest request (`received`) served its
    requests oldest first: the ministry sends what was asked in the order asked, and the
    receipt events do not name the request they answer."""
    left = dict(received)
    states = []
    for request in sorted(requests, key=lambda r: (r.requested_at, r.request_id)):
        served = min(request.quantity, left.get(request.location, 0))
        left[request.location] = left.get(request.location, 0) - served
        states.append(RequestState(request, served))
    return states
