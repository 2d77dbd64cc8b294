"""A session's life: planned → in progress → completed, or planned → cancelled."""

from __future__ import annotations

from datetime import date

from jemput.outreach.domain.model import SessionStatus

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
