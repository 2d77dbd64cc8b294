"""Events the outreach service publishes on `jemput.outreach.v1`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from jemput.shared.events.base import EventPayload

Biometric = Literal["photo", "fingerprints", "iris", "signature"]


class RecordingCapturedV1(EventPayload):
    """A mobile team recorded a resident's biometrics: the fact the whole system turns on."""

    event_type: ClassVar[str] = "jemput.outreach.recording_captured.v1"
    producer: ClassVar[str] = "outreach"

    recording_id: str
    nik: str
    session_id: str | None = None
    village_code: str | None = None
    captured_at: datetime
    kit_serial: str | None = None
    captured: tuple[Biometric, ...] = ("photo", "fingerprints", "iris", "signature")
    # The register did not know the NIK when the recording was accepted.
    unknown_nik: bool = False

    def partition_key(self) -> str:
        return self.nik


ALL: tuple[type[EventPayload], ...] = (RecordingCapturedV1,)
