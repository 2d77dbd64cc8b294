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


class EarlyRecording(SQLModel, table=True):
    """A recording whose resident analytics has not heard of yet (the register's event comes
    later, on another topic): applied when the resident arrives."""

    __tablename__ = "early_recording"

    nik: str = Field(primary_key=True, max_length=16)
