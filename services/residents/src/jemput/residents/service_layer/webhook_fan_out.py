"""From `ektp_status_changed.v1` and `suket_status_changed.v1` to one pending webhook delivery
per matching subscription.

Runs in the residents consumer (which reads its own topic for this): the deliveries are written
in the consumer's transaction, together with the inbox rows of the events, so an event read
twice makes its deliveries once. The unique (subscription_id, event_id) is the second guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.webhook_tables import PartnerSubscription, WebhookDelivery
from jemput.residents.domain.webhooks import DeliveryState, Watch
from jemput.shared.db import core_connection, is_postgres
from jemput.shared.events.residents import EktpStatusChangedV1, SuketStatusChangedV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent


@dataclass(frozen=True, slots=True)
class _Subscriber:
    id: str
    watch: Watch
    created_at: datetime


def notification(event: InboundEvent[Any]) -> dict[str, Any]:
    """The body a partner receives: the change and nothing else about the resident. A status
    change names both statuses; a change of the SUKET flag alone (`type`
    `suket_status_changed`) names the unchanged status and no previous one."""
    change: EktpStatusChangedV1 | SuketStatusChangedV1 = event.payload
    body: dict[str, Any] = {"event_id": event.id, "nik": change.nik}
    if isinstance(change, SuketStatusChangedV1):
        body |= {"type": "suket_status_changed", "ektp_status": change.ektp_status}
    else:
        body |= {"ektp_status": change.to_status, "previous_status": change.from_status}
    return body | {
        "suket_outstanding": change.suket_outstanding,
        "changed_at": change.changed_at.astimezone(UTC).isoformat(),
    }


class WebhookFanOut:
    def register(self, handlers: EventHandlers) -> EventHandlers:
        handlers.add_batch(EktpStatusChangedV1, self.on_status_changed)
        handlers.add_batch(SuketStatusChangedV1, self.on_status_changed)
        return handlers

    async def on_status_changed(
        self, session: AsyncSession, events: Sequence[InboundEvent[Any]]
    ) -> None:
        subscribers = await _active_subscribers(session)
        if not subscribers:
            return
        now = datetime.now(UTC)
        rows = []
        for event in events:
            change: EktpStatusChangedV1 | SuketStatusChangedV1 = event.payload
            for subscriber in subscribers:
                # A partner hears of changes made after it subscribed, also when the topic
                # is read again from the start.
                if subscriber.created_at > event.envelope.time:
                    continue
                if subscriber.watch.covers(change.nik, change.village_code):
                    rows.append(
                        {
                            "id": str(uuid.uuid4()),
                            "subscription_id": subscriber.id,
                            "event_id": event.id,
                            "payload": notification(event),
                            "state": DeliveryState.PENDING,
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
        if rows:
            conn = await core_connection(session)
            insert_into = postgresql_insert if is_postgres(conn.engine) else sqlite_insert
            table = WebhookDelivery.__table__  # type: ignore[attr-defined]
            await conn.execute(
                insert_into(table).on_conflict_do_nothing(
                    index_elements=["subscription_id", "event_id"]
                ),
                rows,
            )


async def _active_subscribers(session: AsyncSession) -> list[_Subscriber]:
    # A handful of partners, each with at most MAX_NIKS NIKs: read once per batch.
    query = select(
        col(PartnerSubscription.id),
        col(PartnerSubscription.niks),
        col(PartnerSubscription.areas),
        col(PartnerSubscription.created_at),
    ).where(col(PartnerSubscription.active).is_(True))
    rows = (await (await core_connection(session)).execute(query)).all()
    return [
        _Subscriber(row.id, Watch.of(row.niks or [], row.areas or []), row.created_at)
        for row in rows
    ]
