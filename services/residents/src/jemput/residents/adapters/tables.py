"""The residents database, in the SQLModel family: `ResidentBase`, `Resident`, `ResidentCreate`,
`ResidentPublic`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import ConfigDict
from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from jemput.residents.domain.model import DomicileStatus, EktpStatus, MaritalStatus
from jemput.shared.db.types import UtcDateTime
from jemput.shared.nik import Nik, Sex
from jemput.shared.reference.areas import AreaCode


def _now() -> datetime:
    return datetime.now(UTC)


class ResidentBase(SQLModel):
    nik: str = Field(primary_key=True, min_length=16, max_length=16)
    kk: str | None = Field(default=None, min_length=16, max_length=16, regex=r"^[0-9]{16}$")
    full_name: str = Field(min_length=1, max_length=200)
    birth_place: str | None = Field(default=None, max_length=100)
    birth_date: date
    # Enums are stored as plain strings (the migrations' VARCHARs), not native PostgreSQL enums.
    sex: Sex = Field(sa_type=String(1))
    marital_status: MaritalStatus = Field(default=MaritalStatus.BELUM_KAWIN, sa_type=String(16))
    village_code: str = Field(index=True, max_length=13)


class Resident(ResidentBase, table=True):
    __tablename__ = "resident"

    domicile_status: DomicileStatus = Field(default=DomicileStatus.RESIDENT, sa_type=String(16))
    ektp_status: EktpStatus = Field(default=EktpStatus.BELUM_REKAM, sa_type=String(24))
    suket_outstanding: bool = False
    created_at: datetime = Field(
        default_factory=_now, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=_now, sa_column=Column(UtcDateTime(), nullable=False)
    )


class ResidentCreate(ResidentBase):
    # Validation errors must not echo the input back: it is personal data.
    model_config = ConfigDict(hide_input_in_errors=True)  # type: ignore[assignment]

    nik: Nik
    village_code: AreaCode
    ektp_status: EktpStatus = EktpStatus.BELUM_REKAM


class ResidentPublic(ResidentBase):
    domicile_status: DomicileStatus
    ektp_status: EktpStatus
    suket_outstanding: bool
    created_at: datetime
    updated_at: datetime
