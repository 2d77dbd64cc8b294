"""The outreach database, in the SQLModel family: teams and kits, sessions with their kits
and appointments, home-visit requests, recordings, office closures, and the read model of
residents built from the register's events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from jemput.outreach.domain.model import (
    HomeVisitOutcome,
    HomeVisitState,
    KitCondition,
    SessionKind,
    SessionStatus,
    VisitReason,
)
from jemput.shared.db.types import StrEnumType, UtcDateTime


def now() -> datetime:
    return datetime.now(UTC)


def _utc(**options: Any) -> Any:
    return Field(sa_type=UtcDateTime(), **options)


class Team(SQLModel, table=True):
    __tablename__ = "team"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100, unique=True)
    # Staff names or NIPs: the roster the office keeps for each team.
    members: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Kemendagri code of where the team is based (the office's district, usually).
    base_code: str = Field(max_length=13)
    created_at: datetime = _utc(default_factory=now)


class Kit(SQLModel, table=True):
    """A recording set (PC, camera, fingerprint scanner, iris scanner, signature pad)."""

    __tablename__ = "kit"

    serial: str = Field(primary_key=True, max_length=40)
    team_id: str | None = Field(default=None, foreign_key="team.id", index=True, max_length=32)
    condition: KitCondition = Field(
        default=KitCondition.WORKING, sa_type=StrEnumType(KitCondition, 16)
    )
    note: str | None = Field(default=None, max_length=200)
    updated_at: datetime = _utc(default_factory=now)


class OutreachSession(SQLModel, table=True):
    __tablename__ = "outreach_session"

    id: str = Field(primary_key=True, max_length=32)
    kind: SessionKind = Field(sa_type=StrEnumType(SessionKind, 16))
    village_code: str = Field(max_length=13)
    day: date
    team_id: str = Field(foreign_key="team.id", max_length=32)
    # The rate the capacity was planned with, so a kit breaking later recomputes it the same.
    per_kit_daily_rate: int
    planned_capacity: int
    status: SessionStatus = Field(
        default=SessionStatus.PLANNED, sa_type=StrEnumType(SessionStatus, 16)
    )
    cancel_reason: str | None = Field(default=None, max_length=300)
    # Outcome counts reported at close-out.
    recorded: int | None = None
    failed_to_record: int | None = None
    under_age: int | None = None
    already_has_card: int | None = None
    absent: int | None = None
    # From an accepted plan: what the planner expected, and why it proposed the session.
    expected_recordings: int | None = None
    plan_reason: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime = _utc(default_factory=now)
    started_at: datetime | None = _utc(default=None)
    closed_at: datetime | None = _utc(default=None)


class SessionKit(SQLModel, table=True):
    """A kit held by a session on its day; released when the session is cancelled. A unique
    index on (kit, day) over the held rows keeps a kit in one place a day."""

    __tablename__ = "session_kit"

    session_id: str = Field(primary_key=True, foreign_key="outreach_session.id", max_length=32)
    kit_serial: str = Field(primary_key=True, foreign_key="kit.serial", max_length=40)
    day: date
    released: bool = False


class Appointment(SQLModel, table=True):
    __tablename__ = "appointment"

    session_id: str = Field(primary_key=True, foreign_key="outreach_session.id", max_length=32)
    nik: str = Field(primary_key=True, max_length=16, index=True)
    booked_at: datetime = _utc(default_factory=now)
    recording_id: str | None = Field(default=None, max_length=64)


class HomeVisit(SQLModel, table=True):
    __tablename__ = "home_visit"

    id: str = Field(primary_key=True, max_length=32)
    nik: str = Field(max_length=16, index=True)
    village_code: str = Field(max_length=13)
    reason: VisitReason = Field(sa_type=StrEnumType(VisitReason, 16))
    requested_at: datetime = _utc()
    deadline: date
    state: HomeVisitState = Field(
        default=HomeVisitState.OPEN, sa_type=StrEnumType(HomeVisitState, 8)
    )
    session_id: str | None = Field(default=None, foreign_key="outreach_session.id", max_length=32)
    outcome: HomeVisitOutcome | None = Field(
        default=None, sa_type=StrEnumType(HomeVisitOutcome, 16)
    )
    outcome_reason: str | None = Field(default=None, max_length=300)
    recording_id: str | None = Field(default=None, max_length=64)
    requested_by: str = Field(max_length=100)
    closed_at: datetime | None = _utc(default=None)


class Recording(SQLModel, table=True):
    """A recording as a kit uploaded it; `recording_id` is the kit's own id."""

    __tablename__ = "recording"

    recording_id: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="outreach_session.id", max_length=32)
    nik: str = Field(max_length=16, index=True)
    captured_at: datetime = _utc()
    kit_serial: str = Field(max_length=40)
    operator: str = Field(max_length=100)
    # Sorted, comma-separated biometrics (photo,fingerprints,iris,signature).
    captured: str = Field(max_length=60)
    # The register did not know the NIK when the recording came in: kept, flagged.
    unknown_nik: bool = False
    village_code: str = Field(max_length=13)
    digest: str = Field(max_length=32)
    uploaded_by: str = Field(max_length=100)
    received_at: datetime = _utc(default_factory=now)


class OfficeClosure(SQLModel, table=True):
    __tablename__ = "office_closure"

    day: date = Field(primary_key=True)
    reason: str = Field(max_length=200)
    declared_by: str = Field(max_length=100)
    declared_at: datetime = _utc(default_factory=now)


class ResidentView(SQLModel, table=True):
    """What outreach knows of a resident, from the register's events: enough to check an
    appointment and count who is waiting, no name or address."""

    __tablename__ = "resident_view"

    nik: str = Field(primary_key=True, max_length=16)
    village_code: str = Field(max_length=13)
    birth_date: date
    ever_married: bool
    # The first day of eligibility by age or marriage (eligibility moves with birthdays).
    eligible_from: date
    alive: bool = True
    domiciled: bool = True
    # Recorded at least once (never undone by a late snapshot of the register).
    recorded: bool = False
    ektp_status: str = Field(default="BELUM_REKAM", max_length=24)
    disabled: bool = False
    chronically_ill: bool = False
    mental_illness: bool = False


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a SQLModel class, for bulk statements."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table
