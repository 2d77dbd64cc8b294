"""Events the outreach service publishes on `jemput.outreach.v1`."""

from __future__ import annotations

from datetime import date, datetime
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
    # The team whose session took the recording (team productivity).
    team_id: str | None = None

    def partition_key(self) -> str:
        return self.nik


SessionKind = Literal["village_drive", "school_drive", "home_visit", "office"]


class SessionEvent(EventPayload):
    """An outreach session's facts, keyed by the session. Staff names and free-text reasons
    stay in the outreach database."""

    producer: ClassVar[str] = "outreach"

    session_id: str
    kind: SessionKind
    village_code: str
    day: date
    team_id: str

    def partition_key(self) -> str:
        return self.session_id


class SessionScheduledV1(SessionEvent):
    event_type: ClassVar[str] = "jemput.outreach.session_scheduled.v1"

    planned_capacity: int
    kit_serials: tuple[str, ...] = ()


class SessionCompletedV1(SessionEvent):
    """The team closed the session with its outcome counts."""

    event_type: ClassVar[str] = "jemput.outreach.session_completed.v1"

    completed_at: datetime
    recorded: int
    failed_to_record: int
    under_age: int
    already_has_card: int
    absent: int
    # Recordings uploaded for the session when it closed.
    uploaded_recordings: int


class SessionCancelledV1(SessionEvent):
    event_type: ClassVar[str] = "jemput.outreach.session_cancelled.v1"

    cancelled_at: datetime


ALL: tuple[type[EventPayload], ...] = (
    RecordingCapturedV1,
    SessionScheduledV1,
    SessionCompletedV1,
    SessionCancelledV1,
)
