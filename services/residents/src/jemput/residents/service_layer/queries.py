"""Reads of the register: one resident as of a date, their history, the partner status, search,
families. Age conditions become birth-date ranges in SQL, so searches use indexes and never
filter rows one by one in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, not_, or_, true
from sqlalchemy import select as select_columns
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import Resident, ResidentPublic, StatusChange
from jemput.residents.domain.model import (
    ELDERLY_AGE,
    DomicileStatus,
    EktpStatus,
    MaritalStatus,
    is_elderly,
)
from jemput.residents.domain.status import is_recorded
from jemput.residents.service_layer.status import current_status
from jemput.shared.eligibility import adult_cutoff, eligible_from, is_eligible
from jemput.shared.timezone import OFFICE_TIMEZONE

NOT_RECORDED = (EktpStatus.BELUM_WAJIB, EktpStatus.BELUM_REKAM)


class Vulnerability(StrEnum):
    ELDERLY = "elderly"
    DISABLED = "disabled"
    CHRONICALLY_ILL = "chronically_ill"
    MENTAL_ILLNESS = "mental_illness"


# ---------------------------------------------------------------------------------------------
# One resident


def public_view(resident: Resident, as_of: date) -> ResidentPublic:
    """The resident as the API shows them: status, eligibility and age group as of `as_of`."""
    resident_here = resident.domicile_status == DomicileStatus.RESIDENT
    ever_married = resident.marital_status.ever_married
    eligible = is_eligible(
        birth_date=resident.birth_date,
        ever_married=ever_married,
        as_of=as_of,
        domiciled=resident_here,
    )
    from_date = None
    if resident_here and not eligible:
        from_date = eligible_from(birth_date=resident.birth_date, ever_married=ever_married)
    return ResidentPublic.model_validate(
        resident,
        update={
            "ektp_status": current_status(resident, as_of),
            "elderly": is_elderly(resident.birth_date, as_of),
            "eligible": eligible,
            "eligible_from": from_date,
        },
    )


async def get_resident(session: AsyncSession, nik: str) -> Resident | None:
    resident = await session.get(Resident, nik)
    return resident


async def village_of(session: AsyncSession, nik: str) -> str | None:
    """The resident's village code (to check a caller's areas), or None if not registered."""
    query = select(col(Resident.village_code)).where(col(Resident.nik) == nik)
    return (await session.exec(query)).first()


async def history(session: AsyncSession, nik: str) -> Sequence[StatusChange]:
    """The status transitions in the order the register took them in (oldest first)."""
    query = select(StatusChange).where(col(StatusChange.nik) == nik).order_by(col(StatusChange.id))
    return (await session.exec(query)).all()


@dataclass(frozen=True, slots=True)
class PartnerStatus:
    nik: str
    ektp_status: EktpStatus
    suket_outstanding: bool
    last_changed: date
    # Not shown to partners: to check the caller's areas.
    village_code: str


@functools.cache
def _partner_status_query() -> Select[EktpStatus, bool, datetime, date, MaritalStatus, str]:
    return select_columns(
        col(Resident.ektp_status),
        col(Resident.suket_outstanding),
        col(Resident.status_changed_at),
        col(Resident.birth_date),
        col(Resident.marital_status),
        col(Resident.village_code),
    ).where(col(Resident.nik) == bindparam("nik"))


async def partner_status(conn: AsyncConnection, nik: str, today: date) -> PartnerStatus | None:
    """What partner agencies may know: the status as of today, the SUKET flag and the date of
    the last change. One primary-key lookup of a few columns on a bare connection: no session,
    no ORM object (partners call this about a thousand times a second)."""
    row = (await conn.execute(_partner_status_query(), {"nik": nik})).first()
    if row is None:
        return None
    stored, suket, changed_at, birth_date, marital_status, village_code = row
    status = EktpStatus(stored)
    last_changed = _office_date(changed_at)
    if status in NOT_RECORDED:
        # The stored status may lag: a birthday since the last change makes a resident eligible.
        ever_married = MaritalStatus(marital_status).ever_married
        if is_eligible(birth_date=birth_date, ever_married=ever_married, as_of=today):
            if status is EktpStatus.BELUM_WAJIB:
                since = eligible_from(birth_date=birth_date, ever_married=ever_married)
                last_changed = max(last_changed, since)
            status = EktpStatus.BELUM_REKAM
        else:
            status = EktpStatus.BELUM_WAJIB
    return PartnerStatus(nik, status, bool(suket), last_changed, village_code)


def _office_date(moment: datetime) -> date:
    return moment.astimezone(_office_zone()).date()


@functools.cache
def _office_zone() -> ZoneInfo:
    return ZoneInfo(OFFICE_TIMEZONE)


# ---------------------------------------------------------------------------------------------
# Search


@dataclass(frozen=True, slots=True)
class ResidentSearch:
    """Search filters; None means "any". Every date condition is as of `as_of`."""

    as_of: date
    domicile: DomicileStatus = DomicileStatus.RESIDENT
    village_code: str | None = None
    district_code: str | None = None
    status: EktpStatus | None = None
    eligible: bool | None = None
    vulnerable: bool | None = None
    vulnerability: Vulnerability | None = None
    turns_17_within_days: int | None = None
    name_prefix: str | None = None
    # The caller's areas (Kemendagri codes of any level); None means every area.
    areas: tuple[str, ...] | None = None


def _ever_married() -> ColumnElement[bool]:
    return col(Resident.marital_status) != MaritalStatus.BELUM_KAWIN


def _of_age_or_married(as_of: date) -> ColumnElement[bool]:
    """Eligible by age or marriage as of the date (domicile aside)."""
    return or_(_ever_married(), col(Resident.birth_date) <= adult_cutoff(as_of))


def _eligible(as_of: date) -> ColumnElement[bool]:
    return and_(col(Resident.domicile_status) == DomicileStatus.RESIDENT, _of_age_or_married(as_of))


def _vulnerability(kind: Vulnerability, as_of: date) -> ColumnElement[bool]:
    if kind is Vulnerability.ELDERLY:
        return col(Resident.birth_date) <= adult_cutoff(as_of, ELDERLY_AGE)
    column = {
        Vulnerability.DISABLED: col(Resident.disabled),
        Vulnerability.CHRONICALLY_ILL: col(Resident.chronically_ill),
        Vulnerability.MENTAL_ILLNESS: col(Resident.mental_illness),
    }[kind]
    return column == true()


def _status(status: EktpStatus, as_of: date) -> ColumnElement[bool]:
    """Residents with this status as of the date. Steps from a recording on do not depend on
    the date; before that, the stored BELUM_WAJIB/BELUM_REKAM may lag behind a birthday."""
    if status not in NOT_RECORDED:
        return col(Resident.ektp_status) == status
    not_recorded = col(Resident.ektp_status).in_(NOT_RECORDED)
    of_age = _of_age_or_married(as_of)
    return and_(not_recorded, of_age if status is EktpStatus.BELUM_REKAM else not_(of_age))


def _turns_17_within(days: int, as_of: date) -> ColumnElement[bool]:
    """Never married, under 17 on `as_of`, 17 on or before `as_of + days`."""
    return and_(
        col(Resident.marital_status) == MaritalStatus.BELUM_KAWIN,
        col(Resident.birth_date) > adult_cutoff(as_of),
        col(Resident.birth_date) <= adult_cutoff(as_of + timedelta(days=days)),
    )


def name_key(dialect: str) -> ColumnElement[Any]:
    """The upper-cased full name in code-point order, as indexed by migration 0002 (binary
    order makes a prefix a plain range: PostgreSQL's locale collations would not)."""
    upper = func.upper(col(Resident.full_name))
    return upper.collate("C") if dialect == "postgresql" else upper


def _name_prefix(prefix: str, dialect: str) -> ColumnElement[bool]:
    low = prefix.upper()
    following = ord(low[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # skip surrogates: they are not characters
        following = 0xE000
    high = low[:-1] + chr(following)
    key = name_key(dialect)
    return and_(key >= low, key < high)


def within_areas(areas: Sequence[str]) -> ColumnElement[bool]:
    """Residents of any of the areas. Index-friendly: a village or district is an equality, a
    regency or province the range of village codes under its dotted prefix."""
    if not areas:
        return false()
    return or_(*(_within_area(code) for code in areas))


def _within_area(code: str) -> ColumnElement[bool]:
    depth = code.count(".")
    if depth == 3:
        return col(Resident.village_code) == code
    if depth == 2:
        return col(Resident.district_code) == code
    # "/" follows "." in code-point order: [code + ".", code + "/") is every code under it.
    return and_(col(Resident.village_code) >= code + ".", col(Resident.village_code) < code + "/")


def search_conditions(search: ResidentSearch, dialect: str) -> list[ColumnElement[bool]]:
    as_of = search.as_of
    conditions = [col(Resident.domicile_status) == search.domicile]
    if search.areas is not None:
        conditions.append(within_areas(search.areas))
    if search.village_code is not None:
        conditions.append(col(Resident.village_code) == search.village_code)
    if search.district_code is not None:
        conditions.append(col(Resident.district_code) == search.district_code)
    if search.status is not None:
        conditions.append(_status(search.status, as_of))
    if search.eligible is not None:
        eligible = _eligible(as_of)
        conditions.append(eligible if search.eligible else not_(eligible))
    if search.vulnerable is not None:
        any_kind = or_(*(_vulnerability(kind, as_of) for kind in Vulnerability))
        conditions.append(any_kind if search.vulnerable else not_(any_kind))
    if search.vulnerability is not None:
        conditions.append(_vulnerability(search.vulnerability, as_of))
    if search.turns_17_within_days is not None:
        conditions.append(_turns_17_within(search.turns_17_within_days, as_of))
    if search.name_prefix:
        conditions.append(_name_prefix(search.name_prefix, dialect))
    return conditions


async def search(
    session: AsyncSession, search: ResidentSearch, *, limit: int, after_nik: str | None
) -> Sequence[Resident]:
    """Up to `limit` residents matching the search, in NIK order, after `after_nik`."""
    dialect = (await session.connection()).dialect.name
    conditions = search_conditions(search, dialect)
    if after_nik is not None:
        conditions.append(col(Resident.nik) > after_nik)
    query = select(Resident).where(*conditions).order_by(col(Resident.nik)).limit(limit)
    return list((await session.exec(query)).all())


# ---------------------------------------------------------------------------------------------
# Families


@dataclass(frozen=True, slots=True)
class Family:
    kk: str
    members: list[ResidentPublic]

    @property
    def eligible(self) -> int:
        return sum(1 for member in self.members if member.eligible)

    @property
    def recorded(self) -> int:
        return sum(
            1 for member in self.members if member.eligible and is_recorded(member.ektp_status)
        )

    @property
    def complete(self) -> bool:
        return self.recorded == self.eligible


async def family(
    session: AsyncSession, kk: str, as_of: date, *, areas: Sequence[str] | None = None
) -> Family | None:
    """The members of a family card living in `areas` (None: anywhere), eldest first; None if
    no such resident carries the card."""
    conditions = [col(Resident.kk) == kk]
    if areas is not None:
        conditions.append(within_areas(areas))
    query = (
        select(Resident).where(*conditions).order_by(col(Resident.birth_date), col(Resident.nik))
    )
    members = list((await session.exec(query)).all())
    if not members:
        return None
    return Family(kk, [public_view(member, as_of) for member in members])


async def family_registered(session: AsyncSession, kk: str) -> bool:
    """Some resident, anywhere, carries the family card."""
    query = select(col(Resident.nik)).where(col(Resident.kk) == kk).limit(1)
    return (await session.exec(query)).first() is not None


async def residents_for_update(session: AsyncSession, niks: Sequence[str]) -> dict[str, Resident]:
    """The registered residents among `niks`, locked for this transaction (on PostgreSQL; SQLite
    holds the database write lock anyway). Locks are taken in NIK order, so two batches that
    share residents wait for each other instead of deadlocking."""
    found: dict[str, Resident] = {}
    wanted = sorted(set(niks))
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        query = (
            select(Resident)
            .where(col(Resident.nik).in_(chunk))
            .order_by(col(Resident.nik))
            .with_for_update()
        )
        found.update((r.nik, r) for r in (await session.exec(query)).all())
    return found
