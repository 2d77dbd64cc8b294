"""What one audit entry says: who did what to whose data, why, when, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AuditAction(StrEnum):
    """What was done. Reads and changes of a resident's personal data, one name per route."""

    RESIDENT_READ = "resident.read"
    RESIDENT_HISTORY_READ = "resident.history.read"
    RESIDENT_STATUS_READ = "resident.status.read"
    RESIDENT_SEARCH = "resident.search"
    RESIDENT_CREATE = "resident.create"
    FAMILY_READ = "family.read"
    IMPORT_CREATE = "import.create"
    CENTRAL_RESULT_APPLY = "central_result.apply"
    # outreach
    RECORDING_CREATE = "recording.create"
    RECORDING_LIST = "recording.list"
    APPOINTMENT_CREATE = "appointment.create"
    APPOINTMENT_LIST = "appointment.list"
    HOME_VISIT_CREATE = "home_visit.create"
    HOME_VISIT_LIST = "home_visit.list"
    HOME_VISIT_CLOSE = "home_visit.close"
    # An office closure names no resident, but revoking one deletes it: the log keeps who
    # declared and who revoked it.
    CLOSURE_DECLARE = "closure.declare"
    CLOSURE_REVOKE = "closure.revoke"
    # inventory
    PRINT_JOB_READ = "print_job.read"
    PRINT_JOB_LIST = "print_job.list"
    PRINT_JOB_PRINT = "print_job.print"
    PRINT_JOB_SPOIL = "print_job.spoil"
    PRINT_JOB_ISSUE = "print_job.issue"
    SUKET_LIST = "suket.list"
    AUDIT_SEARCH = "audit.search"


class AuditResult(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    DENIED = "denied"  # the caller may not see this resident (scope or area)
    REFUSED = "refused"  # the request was understood but the rules refused it (e.g. lifecycle)
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One access to one resident's data (or to none: `nik` None for e.g. an import job).

    `detail` is a short note for the auditor (a job id, the filter used); it must never hold
    further personal data (names, addresses, birth dates). `recorded_at` and `request_id`
    default to now and to the request id the HTTP middleware bound to the logs.
    """

    client_id: str
    action: AuditAction
    result: AuditResult
    nik: str | None = None
    purpose: str | None = None
    detail: str | None = None
    request_id: str | None = None
    recorded_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.nik is not None and not (len(self.nik) == 16 and self.nik.isdigit()):
            # A programming error, not a caller's: routes validate the NIK before auditing.
            raise ValueError("an audit entry's nik must be 16 digits")
        if self.recorded_at is not None and self.recorded_at.tzinfo is None:
            raise ValueError("an audit entry's recorded_at must be timezone-aware")
        if not self.client_id:
            raise ValueError("an audit entry needs the caller's client_id")
