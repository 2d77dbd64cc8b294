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


HomeVisitOutcome = Literal["recorded", "refused", "unreachable", "moved", "deceased", "not_needed"]


class HomeVisitEvent(EventPayload):
    """A home-visit request's facts, keyed by the resident's NIK like a recording, so that a
    request, the recording that closes it and its closing arrive in order. The reason for the
    visit (the resident's health) and free-text outcome reasons stay in the outreach database."""

    producer: ClassVar[str] = "outreach"

    home_visit_id: str
    nik: str
    village_code: str
    requested_at: datetime
    # The last day of service (office days, WIB).
    deadline: date

    def partition_key(self) -> str:
        return self.nik


class HomeVisitRequestedV1(HomeVisitEvent):
    event_type: ClassVar[str] = "jemput.outreach.home_visit_requested.v1"


class HomeVisitClosedV1(HomeVisitEvent):
    """The request closed: by a recording of the resident (`recorded`) or by hand with another
    outcome. Carries the request's facts too, so a consumer can count it alone."""

    event_type: ClassVar[str] = "jemput.outreach.home_visit_closed.v1"

    closed_at: datetime
    outcome: HomeVisitOutcome
    # The session that served the request, and its team, when known.
    session_id: str | None = None
    team_id: str | None = None
    # The recording that closed it, and the kit that took it (outcome `recorded`).
    recording_id: str | None = None
    kit_serial: str | None = None


ALL: tuple[type[EventPayload], ...] = (
    RecordingCapturedV1,
    SessionScheduledV1,
    SessionCompletedV1,
    SessionCancelledV1,
    HomeVisitRequestedV1,
    HomeVisitClosedV1,
)
