"""CloudEvents 1.0 in Kafka binary mode: attributes as `ce_*` headers, the JSON payload as value."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """A Kafka message that is not a readable CloudEvent."""


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """An event as it travels: CloudEvents attributes plus the raw JSON payload."""

    id: str
    type: str
    source: str
    time: datetime
    data: bytes
    subject: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def new_time() -> datetime:
        return datetime.now(UTC)

    def headers(self) -> Headers:
        headers: Headers = [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", _format_time(self.time).encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.subject is not None:
            headers.append(("ce_subject", self.subject.encode()))
        headers.extend((f"ce_{name}", value.encode()) for name, value in self.extensions.items())
        return headers

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = orjson.loads(self.data)
        return loaded

    @classmethod
    def from_kafka(
        cls, headers: Sequence[tuple[str, bytes]] | None, value: bytes | None
    ) -> CloudEvent:
        attributes: dict[str, str] = {}
        for name, raw in headers or ():
            if name.startswith("ce_"):
                try:
                    attributes[name[3:]] = raw.decode()
                except UnicodeDecodeError as exc:
                    raise EnvelopeError(f"header {name} is not UTF-8") from exc
        missing = [a for a in ("specversion", "id", "type", "source") if not attributes.get(a)]
        if missing:
            raise EnvelopeError(
                f"missing CloudEvents headers: {', '.join('ce_' + m for m in missing)}"
            )
        if attributes["specversion"] != SPEC_VERSION:
            raise EnvelopeError(
                f"unsupported CloudEvents specversion {attributes['specversion']!r}"
            )
        if value is None:
            raise EnvelopeError("message has no value")
        time_text = attributes.pop("time", None)
        try:
            time = _parse_time(time_text) if time_text else datetime.now(UTC)
        except ValueError as exc:
            raise EnvelopeError("ce_time is not an RFC 3339 timestamp") from exc
        known = {"specversion", "id", "type", "source", "subject"}
        return cls(
            id=attributes["id"],
            type=attributes["type"],
            source=attributes["source"],
            time=time,
            data=value,
            subject=attributes.get("subject"),
            extensions={k: v for k, v in attributes.items() if k not in known},
        )


def _format_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
