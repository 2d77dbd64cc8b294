"""A session's life: planned → in progress → completed, or planned → cancelled."""

from __future__ import annotations

from datetime import date

from jemput.outreach.domain.model import Outcomes, SessionStatus

S = SessionStatus

ALLOWED: dict[SessionStatus, frozenset[SessionStatus]] = {
    S.PLANNED: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    # Recordings have been taken: an in-progress session is closed with its outcomes, never
    # cancelled (its recordings would lose their session).
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}


class TransitionRefused(ValueError):
    def __init__(self, current: SessionStatus, wanted: SessionStatus) -> None:
        super().__init__(f"a session that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: SessionStatus, wanted: SessionStatus) -> None:
    if wanted not in ALLOWED[current]:
        raise TransitionRefused(current, wanted)


class TooEarly(ValueError):
    def __init__(self, day: date) -> None:
        super().__init__(f"the session is on {day.isoformat()}; it cannot start before its day")
        self.day = day


def check_start(day: date, today: date) -> None:
    """A session starts on its day (or later, when the team was held up), never before."""
    if today < day:
        raise TooEarly(day)


class OutcomesContradictUploads(ValueError):
    """The team's `recorded` count cannot be true of the recordings uploaded for the session."""

    def __init__(self, message: str, *, reported: int, uploaded: int, residents: int) -> None:
        super().__init__(message)
        self.reported = reported
        self.uploaded = uploaded
        self.residents = residents


class RecordedBelowUploads(OutcomesContradictUploads):
    """Fewer residents reported recorded than the uploads show: the report is wrong."""


class RecordingsMissing(OutcomesContradictUploads):
    """More residents reported recorded than recordings uploaded: the rest must be uploaded
    first, since a completed session takes no more recordings."""


def check_outcomes(outcomes: Outcomes, *, uploaded: int, residents: int) -> None:
    """`recorded` lies between the residents the uploads name (a resident recorded twice in a
    session, a retake, counts once) and the recordings uploaded."""
    reported = outcomes.recorded
    counts = {"reported": reported, "uploaded": uploaded, "residents": residents}
    if reported < residents:
        raise RecordedBelowUploads(
            f"reported {reported} recorded; {uploaded} recordings of {residents} residents "
            "were uploaded for the session",
            **counts,
        )
    if reported > uploaded:
        raise RecordingsMissing(
            f"reported {reported} recorded; {uploaded} recordings uploaded for the session",
            **counts,
        )


def took_place(status: SessionStatus, uploaded: int) -> bool:
    """A session that has started (in progress, completed) or holds recordings happened on its
    day, so the office cannot be declared closed that day. A merely planned session does not
    block a closure: it can still be cancelled, and it cannot start while the day is closed."""
    return status in (S.IN_PROGRESS, S.COMPLETED) or uploaded > 0
