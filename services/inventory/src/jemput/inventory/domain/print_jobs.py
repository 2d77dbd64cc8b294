"""A print job's life: recorded → (blank reserved) → print-ready → printed → issued, or dropped
when the recording turns out to be a duplicate."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """What is stored."""

    OPEN = "OPEN"
    PRINTED = "PRINTED"
    ISSUED = "ISSUED"
    DROPPED = "DROPPED"


class QueueState(StrEnum):
    """What an operator sees: an open job is waiting for a blank, for clearance, or printable."""

    WAITING_FOR_BLANK = "waiting_for_blank"
    WAITING_FOR_CLEARANCE = "waiting_for_clearance"
    PRINTABLE = "printable"
    PRINTED = "printed"
    ISSUED = "issued"
    DROPPED = "dropped"


def queue_state(state: str, *, has_blank: bool, print_ready: bool) -> QueueState:
    if state != JobState.OPEN:
        return QueueState(state.lower())
    if not has_blank:
        return QueueState.WAITING_FOR_BLANK
    return QueueState.PRINTABLE if print_ready else QueueState.WAITING_FOR_CLEARANCE


def print_refusal(state: str, *, has_blank: bool, print_ready: bool) -> str | None:
    """Why a card cannot be printed on this job now, or None. A spoiled print writes off a
    blank just as a print uses one, so both need the same: an open job, cleared by the
    national system (print-ready), holding a reserved blank."""
    if state != JobState.OPEN:
        return f"the job is {state.lower()}, not waiting to be printed"
    if not print_ready:
        return "the recording is not cleared for printing (print-ready) yet"
    if not has_blank:
        return "no blank is reserved for this job"
    return None


# The register's statuses of a recorded resident still owed a card; the cleared one makes the
# job printable. Before them nothing was recorded, after them the card exists, and DUPLICATE
# is not one identity yet: none of those starts a job.
RECORDED_WITHOUT_CARD = frozenset({"SUDAH_REKAM", "PRINT_READY_RECORD"})
CLEARED = "PRINT_READY_RECORD"


def owed_a_card(ektp_status: str, domicile_status: str) -> bool:
    """Whether the register's view of a resident puts them in the print queue: recorded, no
    card yet, and still living in the regency (a card is not printed for who moved away or
    died)."""
    return ektp_status in RECORDED_WITHOUT_CARD and domicile_status == "RESIDENT"
