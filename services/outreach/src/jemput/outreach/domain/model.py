"""The outreach vocabulary: kits, sessions, home visits and what a recording captures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class KitCondition(StrEnum):
    WORKING = "working"
    BROKEN = "broken"
    IN_REPAIR = "in_repair"


class SessionKind(StrEnum):
    VILLAGE_DRIVE = "village_drive"
    SCHOOL_DRIVE = "school_drive"
    HOME_VISIT = "home_visit"
    OFFICE = "office"


class SessionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# A team and its kits are held on the session's day until it is cancelled.
HOLDING_STATUSES = frozenset(
    {SessionStatus.PLANNED, SessionStatus.IN_PROGRESS, SessionStatus.COMPLETED}
)


class VisitReason(StrEnum):
    ELDERLY = "elderly"
    SICK = "sick"  # sick or bedridden
    DISABLED = "disabled"
    MENTAL_ILLNESS = "mental_illness"  # ODGJ: photo and fingerprints only


class HomeVisitState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class HomeVisitOutcome(StrEnum):
    RECORDED = "recorded"  # closed by a recording, never by hand
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    MOVED = "moved"
    DECEASED = "deceased"
    NOT_NEEDED = "not_needed"


class Biometric(StrEnum):
    PHOTO = "photo"
    FINGERPRINTS = "fingerprints"
    IRIS = "iris"
    SIGNATURE = "signature"


@dataclass(frozen=True, slots=True)
class Outcomes:
    """What a team reports when it closes a session."""

    recorded: int
    failed_to_record: int
    under_age: int
    already_has_card: int
    absent: int

    @property
    def attended(self) -> int:
        return self.recorded + self.failed_to_record + self.under_age + self.already_has_card


def planned_capacity(working_kits: int, per_kit_daily_rate: int) -> int:
    """Recordings a session can make in a day: a broken kit records nobody."""
    return max(working_kits, 0) * per_kit_daily_rate


def capacity_overrun(uploaded_recordings: int, planned: int) -> int:
    """Recordings beyond the planned capacity. They are accepted all the same: the residents
    were recorded in the field and must reach the register; the overrun shows the plan was
    short (a rate set too low, a kit broken after the session began)."""
    return max(uploaded_recordings - planned, 0)


ELDERLY_AGE = 60


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
