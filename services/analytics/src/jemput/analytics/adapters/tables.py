"""Analytics read models, built from events only."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class ResidentFact(SQLModel, table=True):
    """What analytics knows of one resident: enough to count them, nothing personal beyond it."""

    __tablename__ = "resident_fact"

    nik: str = Field(primary_key=True, max_length=16)
    village_code: str = Field(max_length=13)
    district_code: str = Field(index=True, max_length=8)
    regency_code: str = Field(index=True, max_length=5)
    birth_date: date
    ever_married: bool
    alive: bool = True
    domiciled: bool = True
    recorded: bool = False
