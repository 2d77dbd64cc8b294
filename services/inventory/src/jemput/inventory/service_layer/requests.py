"""Requests to the ministry for blanks: made from the forecast (or for a quantity staff choose),
published as `blanks_requested`, and followed to receipt by the receipts that name them.

A request's received quantity is read from the ledger (receipts naming it, less reversed
ones), so it can never disagree with the stock. Functions never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import BlankRequest, LedgerEntry
from jemput.inventory.domain.ledger import EntryKind
from jemput.inventory.service_layer.forecasting import LocationForecast
from jemput.inventory.service_layer.problems import field, invalid, not_found
from jemput.shared.events.inventory import BlanksRequestedV1
from jemput.shared.messaging.outbox import Outbox


class RequestStatus(StrEnum):
    REQUESTED = "requested"  # nothing received yet
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"  # at least the quantity asked for


@dataclass(frozen=True, slots=True)
class FollowedRequest:
    request: BlankRequest
    received: int

    @property
    def status(self) -> RequestStatus:
        return status_of(self.request.quantity, self.received)

    @property
    def outstanding(self) -> int:
        return max(self.request.quantity - self.received, 0)


def status_of(quantity: int, received: int) -> RequestStatus:
    if received <= 0:
        return RequestStatus.REQUESTED
    return RequestStatus.RECEIVED if received >= quantity else RequestStatus.PARTLY_RECEIVED


async def create(
    session: AsyncSession,
    outbox: Outbox,
    *,
    basis: LocationForecast,
    quantity: int | None,
    signed_by: str,
    note: str | None,
    actor: str,
    now: datetime,
) -> BlankRequest:
    """A request for `quantity` blanks, or for the forecast's suggestion when none is given."""
    suggested = basis.result.suggested_request
    wanted = quantity if quantity is not None else suggested
    if wanted <= 0:
        raise invalid(
            field(
                "quantity",
                "nothing_suggested",
                "the forecast suggests no blanks for this location; give a quantity",
            )
        )
    request = BlankRequest(
        id=uuid.uuid4().hex,
        location=basis.location,
        quantity=wanted,
        suggested_quantity=suggested,
        daily_demand=round(basis.result.daily_demand, 3),
        available=basis.stock.available,
        print_ready_backlog=basis.print_ready_backlog,
        sukets_outstanding=basis.sukets_outstanding,
        reorder_point=basis.result.reorder_point,
        lead_time_days=basis.horizon.lead_time_days,
        signed_by=signed_by,
        note=note,
        created_by=actor,
        created_at=now,
    )
    session.add(request)
    await outbox.add(
        session,
        BlanksRequestedV1(
            location=request.location,
            request_id=request.id,
            quantity=request.quantity,
            suggested_quantity=request.suggested_quantity,
            daily_demand=request.daily_demand,
            available=request.available,
            requested_at=now,
        ),
    )
    await session.flush()
    return request


def _received_per_request() -> Any:
    """request id → blanks received for it, counting receipts that still stand."""
    reversal = aliased(LedgerEntry)
    reversed_already = select(reversal.id).where(reversal.reverses_id == LedgerEntry.id).exists()
    return (
        select(
            col(LedgerEntry.request_id).label("request_id"),
            func.sum(LedgerEntry.quantity).label("received"),
        )
        .where(
            LedgerEntry.kind == EntryKind.RECEIVED,
            col(LedgerEntry.request_id).is_not(None),
            ~reversed_already,
        )
        .group_by(col(LedgerEntry.request_id))
        .subquery()
    )


async def get(session: AsyncSession, request_id: str) -> FollowedRequest:
    found = await list_requests(session, status=None, limit=1, after=None, ids=[request_id])
    if not found:
        raise not_found("request")
    return found[0]


async def list_requests(
    session: AsyncSession,
    *,
    status: RequestStatus | None,
    limit: int,
    after: tuple[datetime, str] | None,
    ids: Collection[str] | None = None,
) -> Sequence[FollowedRequest]:
    """Requests, the newest first, with what was received for each."""
    received_per = _received_per_request()
    received = func.coalesce(received_per.c.received, 0)
    query = (
        select(BlankRequest, received)
        .outerjoin(received_per, received_per.c.request_id == BlankRequest.id)
        .order_by(col(BlankRequest.created_at).desc(), col(BlankRequest.id).desc())
        .limit(limit)
    )
    if ids is not None:
        query = query.where(col(BlankRequest.id).in_(list(ids)))
    if status is not None:
        query = query.where(_status_condition(status, received))
    if after is not None:
        created_at, request_id = after
        query = query.where(
            or_(
                col(BlankRequest.created_at) < created_at,
                and_(col(BlankRequest.created_at) == created_at, col(BlankRequest.id) < request_id),
            )
        )
    rows = (await session.exec(query)).all()
    return [FollowedRequest(request, int(got)) for request, got in rows]


def _status_condition(status: RequestStatus, received: Any) -> ColumnElement[bool]:
    if status is RequestStatus.REQUESTED:
        result: ColumnElement[bool] = received <= 0
    elif status is RequestStatus.PARTLY_RECEIVED:
        result = and_(received > 0, received < col(BlankRequest.quantity))
    else:
        result = received >= col(BlankRequest.quantity)
    return result


async def exists(session: AsyncSession, request_id: str) -> bool:
    return await session.get(BlankRequest, request_id) is not None
