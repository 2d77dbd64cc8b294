"""What analytics knows of one resident, and how each event changes it.

Events come from three topics, so a resident's recording, print or SUKET may arrive before the
register's snapshot of them, and the same fact may arrive twice. Every change here is a merge
that gives the same result in any order and when repeated:

- the register's snapshot (area, birth date, marital state) is taken only when it is newer
  than the one kept (by the time it occurred);
- milestones (recorded, print-ready, printed, issued, SUKET) keep the *first* day they happened;
  a day the events say beats `UNDATED` (the register says it happened, not when); the recording
  day is the field recording's, the status change's, or the snapshot's `recorded_at`;
- the latest duplicate flag and the latest print-ready decision are kept as instants: the
  resident counts as a duplicate while the flag is newer than any print-ready decision;
- inventory's SUKETs keep the instant of the latest one issued, its revocations (a duplicate's
  SUKET) the day and instant of the latest: a revocation ends the SUKETs issued before it, and a
  SUKET issued after it (the resident re-recorded) starts again from its own day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from jemput.shared.timezone import OFFICE_TIMEZONE, office_day

# "It happened, the register does not say when": counts as done on every day asked about.
UNDATED = date(1900, 1, 1)

_OFFICE = ZoneInfo(OFFICE_TIMEZONE)

# e-KTP statuses and the milestones each one implies.
RECORDED_STATUSES = frozenset(
    {"SUDAH_REKAM", "PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED", "DUPLICATE"}
)
PRINT_READY_STATUSES = frozenset({"PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED"})
PRINTED_STATUSES = frozenset({"CARD_PRINTED", "CARD_ISSUED"})
ISSUED_STATUSES = frozenset({"CARD_ISSUED"})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The register's view of a resident at `at`."""

    village_code: str
    birth_date: date
    ever_married: bool
    living_here: bool  # alive and domiciled in the regency
    ektp_status: str
    suket_outstanding: bool
    at: datetime
    # The office day the register says the resident was recorded (None: not recorded, or a
    # snapshot from before the field existed).
    recorded_on: date | None = None


@dataclass(frozen=True, slots=True)
class ResidentFacts:
    nik: str
    village_code: str | None = None
    birth_date: date | None = None
    ever_married: bool | None = None
    snapshot_at: datetime | None = None
    # Moved out or died: not counted from this day on.
    left_on: date | None = None
    left_at: datetime | None = None
    recorded_on: date | None = None
    print_ready_on: date | None = None
    print_ready_at: datetime | None = None
    duplicate_at: datetime | None = None
    printed_on: date | None = None
    issued_on: date | None = None
    suket_on: date | None = None
    # Inventory's latest SUKET (when it was issued) and latest revocation of one.
    suket_at: datetime | None = None
    suket_revoked_on: date | None = None
    suket_revoked_at: datetime | None = None

    @property
    def district_code(self) -> str | None:
        return self.village_code[:8] if self.village_code else None

    @property
    def regency_code(self) -> str | None:
        return self.village_code[:5] if self.village_code else None

    def with_snapshot(self, snapshot: Snapshot) -> ResidentFacts:
        """The register's snapshot, unless a newer one was applied already. Its status adds
        milestones, undated but for the recording day it names: they never undo a recording or
        a print."""
        facts = self.with_status(snapshot.ektp_status, None, snapshot.at)
        if snapshot.recorded_on is not None:
            facts = facts.recorded(snapshot.recorded_on)
        if snapshot.suket_outstanding:
            facts = replace(facts, suket_on=first_day(facts.suket_on, UNDATED))
        if self.snapshot_at is not None and snapshot.at < self.snapshot_at:
            return facts
        facts = replace(
            facts,
            village_code=snapshot.village_code,
            birth_date=snapshot.birth_date,
            ever_married=snapshot.ever_married,
            snapshot_at=snapshot.at,
        )
        if snapshot.living_here:
            if facts.left_at is None or snapshot.at >= facts.left_at:
                facts = replace(facts, left_on=None, left_at=None)
        elif facts.left_on is None:
            facts = replace(facts, left_on=office_day(snapshot.at), left_at=snapshot.at)
        return facts

    def with_departure(self, on: date, at: datetime) -> ResidentFacts:
        """Moved out of the regency or died on `on` (the event occurred at `at`); a snapshot
        newer than the event that says the resident lives here wins."""
        if self.snapshot_at is not None and at < self.snapshot_at and self.left_on is None:
            return self
        # A newer departure is kept; one the snapshot inferred gives way to the dated event.
        if self.left_at is not None and at < self.left_at and self.left_at != self.snapshot_at:
            return self
        return replace(self, left_on=on, left_at=at)

    def with_status(self, status: str, day: date | None, at: datetime) -> ResidentFacts:
        """A status reached on `day` (None: the day is not known) at instant `at`."""
        facts = self
        dated = day if day is not None else UNDATED
        if status in RECORDED_STATUSES:
            facts = facts.recorded(dated if status == "SUDAH_REKAM" else UNDATED)
        if status in PRINT_READY_STATUSES:
            facts = facts.print_ready(dated if status == "PRINT_READY_RECORD" else UNDATED, at)
        if status in PRINTED_STATUSES:
            facts = facts.printed(dated if status == "CARD_PRINTED" else UNDATED)
        if status in ISSUED_STATUSES:
            facts = facts.issued(dated)
        if status == "DUPLICATE":
            facts = facts.duplicate(at)
        return facts

    def recorded(self, day: date) -> ResidentFacts:
        return replace(self, recorded_on=first_day(self.recorded_on, day))

    def print_ready(self, day: date, at: datetime | None) -> ResidentFacts:
        return replace(
            self.recorded(UNDATED),
            print_ready_on=first_day(self.print_ready_on, day),
            print_ready_at=latest(self.print_ready_at, at),
        )

    def duplicate(self, at: datetime) -> ResidentFacts:
        return replace(self.recorded(UNDATED), duplicate_at=latest(self.duplicate_at, at))

    def printed(self, day: date) -> ResidentFacts:
        facts = self.print_ready(UNDATED, None)
        return replace(facts, printed_on=first_day(facts.printed_on, day))

    def issued(self, day: date) -> ResidentFacts:
        facts = self.printed(UNDATED)
        return replace(facts, issued_on=first_day(facts.issued_on, day))

    def suket(self, day: date, at: datetime | None = None) -> ResidentFacts:
        """A SUKET held from `day`; `at`: the moment inventory issued it (None: the register's
        flag, which never outlives a revocation)."""
        facts = self.recorded(UNDATED)
        revoked = facts.suket_revoked_at
        reissued = revoked is not None and facts.suket_at is not None and facts.suket_at > revoked
        if at is not None and revoked is not None and at > revoked:
            # Issued after the latest revocation (re-recorded): held again from its own day.
            on = first_day(facts.suket_on, day) if reissued else day
            return replace(facts, suket_on=on, suket_at=latest(facts.suket_at, at))
        if reissued:
            return facts  # a SUKET from before the revocation adds nothing to the new one
        return replace(
            facts, suket_on=first_day(facts.suket_on, day), suket_at=latest(facts.suket_at, at)
        )

    def suket_revoked(self, day: date, at: datetime) -> ResidentFacts:
        """Inventory revoked the SUKET (its holder was flagged a duplicate) on `day`."""
        if self.suket_revoked_at is not None and at <= self.suket_revoked_at:
            return self
        return replace(self, suket_revoked_on=day, suket_revoked_at=at)


def first_day(kept: date | None, new: date | None) -> date | None:
    """The first day something happened; a known day beats `UNDATED`."""
    if new is None:
        return kept
    if kept is None or kept == UNDATED:
        return new
    if new == UNDATED:
        return kept
    return min(kept, new)


def latest(kept: datetime | None, new: datetime | None) -> datetime | None:
    if new is None:
        return kept
    if kept is None:
        return new
    return max(kept, new)
