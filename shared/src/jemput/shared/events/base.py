"""Event payloads: frozen, versioned pydantic models; readers ignore fields they do not know."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class EventPayload(BaseModel):
    """One class per event *version*; `event_type` is the CloudEvents `type`.

    Within a version only optional fields may be added, so `extra="ignore"` lets an older
    consumer read a newer producer's payload.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    # The service whose topic carries this event (`jemput.<service>.v1`).
    producer: ClassVar[str]

    def partition_key(self) -> str:
        """Kafka key: the entity whose events must stay in order (e.g. the NIK)."""
        raise NotImplementedError

    def subject(self) -> str | None:
        """CloudEvents `subject`: the entity the event is about."""
        return self.partition_key()
