"""The dead-letter topic: messages that cannot be read or applied, with the reason in headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError

log = structlog.get_logger(__name__)

REASON_HEADER = "jemput_dlq_reason"


class SafeError(Exception):
    """An error whose message carries no personal data, so it may travel in a DLQ reason."""


def describe_failure(exc: BaseException) -> str:
    """Why a message failed, without personal data.

    Validation errors name the fields and the error types, never the values; other errors give
    their class name only, unless they are `SafeError`s (whose messages are written for this).
    """
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['type']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        return f"payload does not match {exc.title}: {problems}"
    if isinstance(exc, SafeError):
        return f"{type(exc).__name__}: {exc}"
    return f"handler failed: {type(exc).__name__}"


class DeadLetters:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self.topic = topic

    async def send(self, record: ConsumerRecord[Any, Any], reason: str, *, consumer: str) -> None:
        headers = list(record.headers or ())
        headers += [
            (REASON_HEADER, reason.encode()),
            ("jemput_dlq_consumer", consumer.encode()),
            ("jemput_dlq_original_topic", record.topic.encode()),
            ("jemput_dlq_original_partition", str(record.partition).encode()),
            ("jemput_dlq_original_offset", str(record.offset).encode()),
            ("jemput_dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        await self._producer.send_and_wait(
            self.topic, value=record.value, key=record.key, headers=headers
        )
        log.warning(
            "consumer.dead_lettered",
            consumer=consumer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
        )
