"""The e-KTP status lifecycle: which transitions are possible, and the status that follows from
the facts known so far, whatever order they arrived in.

Facts come from three topics (outreach's recordings, inventory's prints and issues) and from the
national de-duplication system; Kafka orders events within a topic, not across topics. So the
status is not a running pointer moved by each message but a function of the milestones reached:
a card printed before its recording event was applied still ends at CARD_PRINTED, and the late
recording only adds its date.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from jemput.residents.domain.model import EktpStatus
from jemput.shared.eligibility import is_eligible

S = EktpStatus

# The lifecycle in order; DUPLICATE sits beside SUDAH_REKAM (recorded, but not cleared).
RANK = {
    S.BELUM_WAJIB: 0,
    S.BELUM_REKAM: 1,
    S.SUDAH_REKAM: 2,
    S.DUPLICATE: 2,
    S.PRINT_READY_RECORD: 3,
    S.CARD_PRINTED: 4,
    S.CARD_ISSUED: 5,
}


def is_recorded(status: EktpStatus) -> bool:
    """The status says the resident has been recorded (a duplicate was recorded too)."""
    return RANK[status] >= RANK[S.SUDAH_REKAM]


# Transitions a request may ask for. Events are facts and are always taken in (see Milestones).
ALLOWED: dict[EktpStatus, frozenset[EktpStatus]] = {
    S.BELUM_WAJIB: frozenset({S.BELUM_REKAM, S.SUDAH_REKAM}),
    S.BELUM_REKAM: frozenset({S.SUDAH_REKAM}),
    S.SUDAH_REKAM: frozenset({S.PRINT_READY_RECORD, S.DUPLICATE, S.SUDAH_REKAM}),
    # A duplicate is re-recorded (back to SUDAH_REKAM) or adjudicated as the same person (PRR).
    S.DUPLICATE: frozenset({S.SUDAH_REKAM, S.PRINT_READY_RECORD}),
    S.PRINT_READY_RECORD: frozenset({S.CARD_PRINTED}),
    S.CARD_PRINTED: frozenset({S.CARD_ISSUED}),
    # A lost or damaged card is re-printed from the same record.
    S.CARD_ISSUED: frozenset({S.PRINT_READY_RECORD}),
}


class TransitionRefused(ValueError):
    def __init__(self, current: EktpStatus, wanted: EktpStatus) -> None:
        super().__init__(f"the e-KTP status cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: EktpStatus, wanted: EktpStatus) -> None:
    if wanted not in ALLOWED[current]:
        raise TransitionRefused(current, wanted)


@dataclass(frozen=True, slots=True)
class Milestones:
    """When each step of the way to a card was reached (None: not yet)."""

    recorded_at: datetime | None = None
    duplicate_at: datetime | None = None
    print_ready_at: datetime | None = None
    printed_at: datetime | None = None
    issued_at: datetime | None = None

    def with_fact(self, status: EktpStatus, at: datetime) -> Milestones:
        """The milestones after a fact; the earliest date of a milestone is kept, except for
        recordings and duplicate flags, which can repeat (re-recording after a duplicate)."""
        if status is S.SUDAH_REKAM:
            return replace(self, recorded_at=_latest(self.recorded_at, at))
        if status is S.DUPLICATE:
            return replace(self, duplicate_at=_latest(self.duplicate_at, at))
        if status is S.PRINT_READY_RECORD:
            return replace(self, print_ready_at=_earliest(self.print_ready_at, at))
        if status is S.CARD_PRINTED:
            return replace(self, printed_at=_earliest(self.printed_at, at))
        if status is S.CARD_ISSUED:
            return replace(self, issued_at=_earliest(self.issued_at, at))
        return self

    @property
    def recorded_by(self) -> datetime | None:
        """When the resident was recorded: the recording milestone, or, should a later step's
        fact have arrived before the recording's (topics are not ordered among themselves), the
        earliest later step (a recording precedes each of them). None: not recorded."""
        if self.recorded_at is not None:
            return self.recorded_at
        later = [
            at
            for at in (self.duplicate_at, self.print_ready_at, self.printed_at, self.issued_at)
            if at is not None
        ]
        return min(later, default=None)

    def status(self, *, birth_date: date, ever_married: bool, as_of: date) -> EktpStatus:
        if self.issued_at:
            return S.CARD_ISSUED
        if self.printed_at:
            return S.CARD_PRINTED
        if self.print_ready_at and not (
            self.duplicate_at and self.duplicate_at > self.print_ready_at
        ):
            return S.PRINT_READY_RECORD
        if self.duplicate_at and not (self.recorded_at and self.recorded_at > self.duplicate_at):
            return S.DUPLICATE
        if self.recorded_at:
            return S.SUDAH_REKAM
        if is_eligible(birth_date=birth_date, ever_married=ever_married, as_of=as_of):
            return S.BELUM_REKAM
        return S.BELUM_WAJIB


def _latest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at > current else current


def _earliest(current: datetime | None, at: datetime) -> datetime:
    return at if current is None or at < current else current
