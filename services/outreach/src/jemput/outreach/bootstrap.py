"""Composition root of the outreach service."""

from __future__ import annotations

from jemput.outreach.settings import OutreachSettings
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    # A skeleton so far: it has its database, outbox and topic, and no event handlers yet.
    return ServiceRuntime.from_settings(settings or OutreachSettings(), handlers=None)
