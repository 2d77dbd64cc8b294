"""Register a resident: check the record against the register's rules, store it, publish it.

Functions here never commit: the caller's unit of work does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import Resident, ResidentBase, ResidentCreate, StatusChange
from jemput.residents.domain import validation as rules
from jemput.residents.domain.model import DomicileStatus, EktpStatus, MaritalStatus
from jemput.residents.domain.status import RANK, Milestones, is_recorded
from jemput.residents.service_layer.status import Cause, milestones_of
from jemput.shared.events.residents import ResidentChangedV1, ResidentRegisteredV1, ResidentSnapshot
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.nik import NikInfo, parse_nik
from jemput.shared.reference.areas import AreaLevel, load_area_table
from jemput.shared.timezone import office_day_start

# The register fields a digest covers: a re-import with the same values changes nothing.
REGISTER_FIELDS = (
    "kk",
    "full_name",
    "birth_place",
    "birth_date",
    "birth_date_corrected",
    "sex",
    "marital_status",
    "village_code",
    "rt",
    "rw",
    "disabled",
    "chronically_ill",
    "mental_illness",
)


class ResidentConflict(ProblemError):
    def __init__(self) -> None:
        super().__init__(
            409,
            "Conflict",
            "A resident with this NIK is already registered with different data.",
            type_="https://jemput.go.id/problems/resident-exists",
        )


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """A validated register record: the fields of `ResidentBase` plus domicile and status."""

    fields: dict[str, object]
    domicile_status: DomicileStatus = DomicileStatus.RESIDENT
    ektp_status: EktpStatus = EktpStatus.BELUM_REKAM
    # Where the record came from in an imported file (0: not from a file).
    line: int = 0
    # Digest of the register fields, computed once (a re-import compares it with the stored one).
    digest: str = ""
    # The day the resident was recorded, when the register says (TGL_REKAM); like the status, it
    # is taken when the entry registers a new resident, so it is not part of the digest.
    recorded_on: date | None = None

    def __post_init__(self) -> None:
        if not self.digest:
            text = "\x1f".join(
                [*(str(self.fields.get(f)) for f in REGISTER_FIELDS), self.domicile_status]
            )
            object.__setattr__(
                self, "digest", hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
            )

    @property
    def nik(self) -> str:
        return str(self.fields["nik"])

    def __reduce__(self) -> tuple[Any, ...]:
        # Import workers send entries between processes; the default for frozen slotted
        # dataclasses is several times slower than calling the constructor.
        return (
            RegisterEntry,
            (
                self.fields,
                self.domicile_status,
                self.ektp_status,
                self.line,
                self.digest,
                self.recorded_on,
            ),
        )


async def get(session: AsyncSession, nik: str) -> Resident | None:
    return await session.get(Resident, nik)


def check_against_nik(info: NikInfo, fields: dict[str, object]) -> list[FieldProblem]:
    """The NIK agrees with birth date and sex, unless the birth date was corrected later."""
    problems: list[FieldProblem] = []
    if info.birth_date != fields["birth_date"] and not fields.get("birth_date_corrected"):
        problems.append(
            FieldProblem(
                field="birth_date",
                code="birth_date_disagrees_with_nik",
                reason="birth_date does not match the birth date encoded in the NIK "
                "(set birth_date_corrected if it was corrected after the NIK was issued)",
            )
        )
    if info.sex != fields["sex"]:
        problems.append(
            FieldProblem(
                field="sex",
                code="sex_disagrees_with_nik",
                reason="sex does not match the NIK (women have 40 added to the birth day)",
            )
        )
    return problems


def check_village(village_code: str, regency_code: str) -> FieldProblem | None:
    village = load_area_table().get(village_code)
    if village is None or village.level is not AreaLevel.VILLAGE:
        return FieldProblem(
            field="village_code",
            code=rules.UNKNOWN_VILLAGE,
            reason="village_code is not a village in the Kemendagri table",
        )
    if not village_code.startswith(regency_code + "."):
        return FieldProblem(
            field="village_code",
            code="village_outside_regency",
            reason=f"the village is not in regency {regency_code}",
        )
    return None


def check_record(fields: dict[str, object], *, regency_code: str) -> list[FieldProblem]:
    """Rules across fields of a record whose NIK is already valid on its own."""
    problems = check_against_nik(parse_nik(str(fields["nik"])), fields)
    village_problem = check_village(str(fields["village_code"]), regency_code)
    return [*problems, village_problem] if village_problem else problems


def snapshot(resident: Resident, event: type[ResidentSnapshot]) -> ResidentSnapshot:
    return event(
        nik=resident.nik,
        village_code=resident.village_code,
        birth_date=resident.birth_date,
        sex=resident.sex,
        marital_status=resident.marital_status,
        ektp_status=resident.ektp_status,
        domicile_status=resident.domicile_status,
        disabled=resident.disabled,
        chronically_ill=resident.chronically_ill,
        mental_illness=resident.mental_illness,
        suket_outstanding=resident.suket_outstanding,
        recorded_at=milestones_of(resident).recorded_by,
    )


def milestones_for(
    status: EktpStatus, now: datetime, recorded_on: date | None = None
) -> Milestones:
    """Milestones of a status the register already records. The register says when the
    resident was recorded only in TGL_REKAM (`recorded_on`, taken as the start of that day at
    the office); without it, and for every later step, the day of the import (`now`) is assumed:
    the register says the step was reached by then."""
    milestones = Milestones()
    if not is_recorded(status):
        return milestones
    recorded_at = office_day_start(recorded_on) if recorded_on is not None else now
    milestones = milestones.with_fact(EktpStatus.SUDAH_REKAM, min(recorded_at, now))
    if status is EktpStatus.DUPLICATE:
        return milestones.with_fact(status, now)
    for step in (EktpStatus.PRINT_READY_RECORD, EktpStatus.CARD_PRINTED, EktpStatus.CARD_ISSUED):
        if RANK[status] >= RANK[step]:
            milestones = milestones.with_fact(step, now)
    return milestones


def resident_row(entry: RegisterEntry, *, today: date, now: datetime) -> dict[str, Any]:
    """The `resident` row of a newly registered resident, as a plain dict (bulk inserts)."""
    fields = entry.fields
    milestones = milestones_for(entry.ektp_status, now, entry.recorded_on)
    status = milestones.status(
        birth_date=fields["birth_date"],  # type: ignore[arg-type]
        ever_married=fields["marital_status"] != MaritalStatus.BELUM_KAWIN,
        as_of=today,
    )
    return fields | {
        "district_code": str(fields["village_code"])[:8],
        "domicile_status": entry.domicile_status,
        "ektp_status": status,
        "suket_outstanding": False,
        "recorded_at": milestones.recorded_at,
        "duplicate_at": milestones.duplicate_at,
        "print_ready_at": milestones.print_ready_at,
        "printed_at": milestones.printed_at,
        "issued_at": milestones.issued_at,
        "status_changed_at": now,
        "record_digest": entry.digest,
        "created_at": now,
        "updated_at": now,
    }


def new_resident(entry: RegisterEntry, *, today: date, now: datetime) -> Resident:
    return Resident(**resident_row(entry, today=today, now=now))


def first_status_change(resident: Resident, cause: Cause) -> StatusChange:
    return StatusChange(
        nik=resident.nik,
        from_status=None,
        to_status=resident.ektp_status,
        changed_at=resident.created_at,
        cause=cause.kind,
        cause_id=cause.id,
        actor=cause.actor,
    )


def entry_from_create(data: ResidentCreate) -> RegisterEntry:
    fields = data.model_dump(include=set(ResidentBase.model_fields))
    return RegisterEntry(fields=fields, ektp_status=data.ektp_status)


async def create(
    session: AsyncSession,
    outbox: Outbox,
    data: ResidentCreate,
    *,
    regency_code: str,
    today: date,
    actor: str = "api",
) -> tuple[Resident, bool]:
    """Register; returns (resident, created). The same request again returns the stored one."""
    entry = entry_from_create(data)
    problems = check_record(entry.fields, regency_code=regency_code)
    if problems:
        raise ProblemError(
            422,
            "Invalid request",
            "The record contradicts itself or the register.",
            errors=problems,
        )
    existing = await get(session, data.nik)
    if existing is not None:
        if existing.record_digest == entry.digest:
            return existing, False
        raise ResidentConflict()
    resident = new_resident(entry, today=today, now=datetime.now(UTC))
    session.add(resident)
    session.add(first_status_change(resident, Cause("registration", None, actor)))
    await outbox.add(session, snapshot(resident, ResidentRegisteredV1))
    await session.flush()
    return resident, True


__all__ = ["ResidentChangedV1", "create", "get", "snapshot"]
