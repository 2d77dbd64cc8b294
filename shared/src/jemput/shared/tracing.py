"""W3C trace context (`traceparent`) carried from an HTTP request into the events it causes,
through Kafka (the CloudEvents distributed-tracing extension: header `ce_traceparent`) and
into the events their consumers publish, so one recording can be followed across services in
the logs by its `trace_id`.

Format: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import structlog

TRACEPARENT = "traceparent"
_PATTERN = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True, slots=True)
class _Work:
    span: str
    # A run of events applied together: each entity's event's traceparent, by partition key,
    # and the spans made of them when something about the entity is published.
    causes: Mapping[str, str | None] = field(default_factory=dict)
    spans: dict[str, str] = field(default_factory=dict)

    def span_for(self, key: str) -> str:
        if key not in self.causes:
            return self.span
        if key not in self.spans:  # made lazily: most runs publish nothing (projections)
            self.spans[key] = child_of(self.causes[key])
        return self.spans[key]


_current: ContextVar[_Work | None] = ContextVar("jemput_traceparent", default=None)


def parse(traceparent: str | None) -> tuple[str, str, str] | None:
    """(trace id, parent id, flags) of a valid header; None for anything else."""
    if not traceparent:
        return None
    match = _PATTERN.match(traceparent.strip().lower())
    if match is None:
        return None
    trace_id, parent_id, flags = match.groups()
    if trace_id == "0" * 32 or parent_id == "0" * 16:  # invalid by the specification
        return None
    return trace_id, parent_id, flags


def child_of(traceparent: str | None) -> str:
    """A new span in the caller's trace, or the root of a new trace."""
    parsed = parse(traceparent)
    trace_id, flags = (parsed[0], parsed[2]) if parsed else (secrets.token_hex(16), "01")
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def current(key: str | None = None) -> str | None:
    """The traceparent of the work in progress (a request, an event being applied); with the
    partition key of an event to publish, that of the applied event about the same entity."""
    work = _current.get()
    if work is None:
        return None
    return work.span_for(key) if key is not None else work.span


def trace_id_of(traceparent: str) -> str:
    return traceparent.split("-")[1]


@contextmanager
def continued(
    traceparent: str | None, *, by_key: Mapping[str, str | None] | None = None
) -> Iterator[str]:
    """Run the block as a new span of `traceparent`'s trace (or of a new trace), with its
    `trace_id` bound to every log line. `by_key`: the traceparents of a run of events applied
    together, by partition key; what is published about one of those keys continues its trace
    (a new span of it; a new trace for an event without one), the rest `traceparent`'s."""
    span = child_of(traceparent)
    token = _current.set(_Work(span, by_key or {}))
    structlog.contextvars.bind_contextvars(trace_id=trace_id_of(span))
    try:
        yield span
    finally:
        _current.reset(token)
        structlog.contextvars.unbind_contextvars("trace_id")
