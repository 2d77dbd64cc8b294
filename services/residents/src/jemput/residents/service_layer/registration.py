"""Register a resident: validate against the register's rules, store, publish — one transaction.

Functions here never commit: the caller's unit of work does.
"""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import Resident, ResidentCreate
from jemput.residents.domain.model import EktpStatus
from jemput.shared.eligibility import is_eligible
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.nik import parse_nik
from jemput.shared.reference.areas import AreaLevel, load_area_table


class ResidentConflict(ProblemError):
    def __init__(self) -> None:
        super().__init__(
            409,
            "Conflict",
            "A resident with this NIK is already registered with different data.",
            type_="https://jemput.go.id/problems/resident-exists",
        )


async def get(session: AsyncSession, nik: str) -> Resident | None:
    return await session.get(Resident, nik)


def check_record(data: ResidentCreate, *, regency_code: str) -> list[FieldProblem]:
    """Rules across fields: the NIK agrees with birth date and sex; the village is ours."""
    problems: list[FieldProblem] = []
    info = parse_nik(data.nik)
    if info.birth_date != data.birth_date:
        problems.append(
            FieldProblem(
                field="birth_date",
                code="birth_date_disagrees_with_nik",
                reason="birth_date does not match the birth date encoded in the NIK",
            )
        )
    if info.sex != data.sex:
        problems.append(
            FieldProblem(
                field="sex",
                code="sex_disagrees_with_nik",
                reason="sex does not match the NIK (women have 40 added to the birth day)",
            )
        )
    village = load_area_table().get(data.village_code)
    if village is None or village.level is not AreaLevel.VILLAGE:
        problems.append(
            FieldProblem(
                field="village_code",
                code="unknown_village",
                reason="village_code is not a village in the Kemendagri table",
            )
        )
    elif not data.village_code.startswith(regency_code + "."):
        problems.append(
            FieldProblem(
                field="village_code",
                code="village_outside_regency",
                reason=f"the village is not in regency {regency_code}",
            )
        )
    return problems


async def create(
    session: AsyncSession,
    outbox: Outbox,
    data: ResidentCreate,
    *,
    regency_code: str,
    today: date,
) -> tuple[Resident, bool]:
    """Register; returns (resident, created). The same request again returns the stored one."""
    problems = check_record(data, regency_code=regency_code)
    if problems:
        raise ProblemError(
            422,
            "Invalid request",
            "The record contradicts itself or the register.",
            errors=problems,
        )
    existing = await get(session, data.nik)
    if existing is not None:
        if _same_registration(existing, data):
            return existing, False
        raise ResidentConflict()
    status = data.ektp_status
    if status is EktpStatus.BELUM_REKAM and not is_eligible(
        birth_date=data.birth_date, ever_married=data.marital_status.ever_married, as_of=today
    ):
        status = EktpStatus.BELUM_WAJIB
    resident = Resident.model_validate(data.model_dump() | {"ektp_status": status})
    session.add(resident)
    await outbox.add(
        session,
        ResidentRegisteredV1(
            nik=resident.nik,
            village_code=resident.village_code,
            birth_date=resident.birth_date,
            sex=resident.sex,
            marital_status=resident.marital_status,
            ektp_status=resident.ektp_status,
        ),
    )
    await session.flush()
    return resident, True


def _same_registration(existing: Resident, data: ResidentCreate) -> bool:
    fields = ResidentCreate.model_fields.keys() - {"ektp_status"}
    return all(getattr(existing, f) == getattr(data, f) for f in fields)
