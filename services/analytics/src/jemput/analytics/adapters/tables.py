"""Analytics tables.

The read models that events fill come in generations (`resident_g1`, `resident_g2`, ...): a
rebuild replays the topics into a fresh generation while the active one keeps serving, then
switches (`read_model_generation` says which one is active). They are SQLAlchemy Core tables
made per generation from `GENERATION_TABLES`; migration 0003 creates generation 1 with the same
columns, and a later change of their shape is rolled out by a rebuild, not by an ALTER. A new
table joins every existing generation by a migration (0004: `home_visit`).

Targets are settings people make, not facts from events: they live outside the generations and
survive a rebuild.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import pydantic
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from jemput.analytics.domain.area_changes import ALL_MEASURES
from jemput.shared.db.types import UtcDateTime
from jemput.shared.http.types import IsoDate


def _now() -> datetime:
    return datetime.now(UTC)


class ReadModelGeneration(SQLModel, table=True):
    """One set of read-model tables: `building` (a rebuild fills it), `active` (serving),
    `retired` (replaced; its tables are dropped)."""

    __tablename__ = "read_model_generation"

    generation: int = Field(primary_key=True)
    state: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime(), default_factory=_now)
    activated_at: datetime | None = Field(sa_type=UtcDateTime(), default=None)
    # How far its aggregates are: `rolled_to` is empty until they hold every resident's
    # changes (a rebuild sets it when it has computed them), and the projections leave them
    # alone till then. `version` counts the transactions that changed them, `changed_at` the
    # last: the position that answers' ETag and Last-Modified are made of.
    rolled_to: date | None = Field(default=None)
    version: int = Field(
        default=0, sa_type=sa.BigInteger(), sa_column_kwargs={"server_default": "0"}
    )
    changed_at: datetime | None = Field(sa_type=UtcDateTime(), default=None)


class CoverageTargetBase(SQLModel):
    share: float = Field(gt=0, le=1, description="Coverage to reach, e.g. 0.95")
    due: date = Field(description="The day by which to reach it")


class CoverageTarget(CoverageTargetBase, table=True):
    """A target set for one area (others use the settings' default)."""

    __tablename__ = "coverage_target"

    area_code: str = Field(primary_key=True, max_length=13)
    updated_at: datetime = Field(sa_type=UtcDateTime(), default_factory=_now)
    updated_by: str = Field(max_length=255)


# ISO 8601 text only (a number would be read as a Unix timestamp), in a sensible range.
TargetDay = Annotated[IsoDate, pydantic.Field(ge=date(2000, 1, 1), le=date(2199, 12, 31))]


class CoverageTargetUpdate(CoverageTargetBase):
    due: TargetDay = Field(description="The day by which to reach it")


class CoverageTargetPublic(CoverageTargetBase):
    area_code: str
    # "area": set for this area; "default": the settings' target (nothing set for it).
    source: str


def _resident_columns() -> list[sa.Column[Any]]:
    # Everything but the NIK may be unknown: a recording or a print can arrive (from another
    # topic) before the register's snapshot of the resident does.
    return [
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("village_code", sa.String(13), nullable=True),
        sa.Column("district_code", sa.String(8), nullable=True),
        sa.Column("regency_code", sa.String(5), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("ever_married", sa.Boolean(), nullable=True),
        sa.Column("snapshot_at", UtcDateTime(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("left_at", UtcDateTime(), nullable=True),
        sa.Column("recorded_on", sa.Date(), nullable=True),
        sa.Column("print_ready_on", sa.Date(), nullable=True),
        sa.Column("print_ready_at", UtcDateTime(), nullable=True),
        sa.Column("duplicate_at", UtcDateTime(), nullable=True),
        sa.Column("printed_on", sa.Date(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("suket_on", sa.Date(), nullable=True),
        # Inventory's latest SUKET issued, and its latest revocation (see resident_facts).
        sa.Column("suket_at", UtcDateTime(), nullable=True),
        sa.Column("suket_revoked_on", sa.Date(), nullable=True),
        sa.Column("suket_revoked_at", UtcDateTime(), nullable=True),
    ]


def _recording_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("recording_id", sa.String(64), primary_key=True),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("kit_serial", sa.String(64), nullable=True),
        sa.Column("village_code", sa.String(13), nullable=True),
        sa.Column("captured_on", sa.Date(), nullable=False),
    ]


def _session_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("planned_capacity", sa.Integer(), nullable=True),
        # Space-separated serials of the working kits booked for the session.
        sa.Column("kit_serials", sa.Text(), nullable=True),
        sa.Column("reported_recorded", sa.Integer(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
    ]


def _stock_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("location", sa.String(64), primary_key=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        # The newest stock_changed applied: its time, then its place in the location's
        # partition (two ledger entries can share a timestamp).
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("changed_offset", sa.BigInteger(), nullable=False),
        sa.Column("low_threshold", sa.Integer(), nullable=True),
        sa.Column("low_at", UtcDateTime(), nullable=True),
    ]


def _stock_movement_columns() -> list[sa.Column[Any]]:
    # One row per stock_changed event, so applying it twice changes nothing.
    return [
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entry_kind", sa.String(24), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
    ]


def _blank_request_columns() -> list[sa.Column[Any]]:
    # inventory's requests to the ministry (`blanks_requested`), one row each: what was asked
    # and when; what arrived is read from the location's receipts (`stock_movement`).
    return [
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("suggested_quantity", sa.Integer(), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
    ]


def _home_visit_columns() -> list[sa.Column[Any]]:
    # The request's facts come with either event; the closing ones with home_visit_closed only
    # (a request may be closed before analytics hears it was opened).
    return [
        sa.Column("home_visit_id", sa.String(64), primary_key=True),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        # The office day (WIB) of closed_at, to compare with the deadline.
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("team_id", sa.String(64), nullable=True),
        sa.Column("kit_serial", sa.String(64), nullable=True),
        sa.Column("recording_id", sa.String(64), nullable=True),
    ]


def _measure_columns() -> list[sa.Column[Any]]:
    return [sa.Column(m, sa.Integer(), nullable=False, server_default="0") for m in ALL_MEASURES]


def _area_change_columns() -> list[sa.Column[Any]]:
    # The residents' dated changes to the counts of an area (`domain.area_changes`), summed per
    # area and day, at every level (village up to province; a province's parent is "").
    return [
        sa.Column("area_code", sa.String(13), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("parent_code", sa.String(13), nullable=False),
        *_measure_columns(),
    ]


def _area_total_columns() -> list[sa.Column[Any]]:
    # The changes of each area summed up to the roll day (the generation's `rolled_to`): the counts as of
    # that day, so that a read adds only the few days after it.
    return [
        sa.Column("area_code", sa.String(13), primary_key=True),
        sa.Column("parent_code", sa.String(13), nullable=False),
        *_measure_columns(),
    ]


def _resident_indexes(name: str) -> list[tuple[str, list[str]]]:
    return [
        (f"ix_{name}_district", ["district_code", "village_code"]),
        (f"ix_{name}_regency", ["regency_code", "district_code"]),
    ]


# Base name → (columns, extra indexes). The generation's tables are `<base>_g<n>`.
GENERATION_TABLES: dict[
    str, tuple[Callable[[], list[sa.Column[Any]]], Callable[[str], list[tuple[str, list[str]]]]]
] = {
    "resident": (_resident_columns, _resident_indexes),
    "recording": (
        _recording_columns,
        lambda name: [(f"ix_{name}_day", ["captured_on"]), (f"ix_{name}_session", ["session_id"])],
    ),
    "outreach_session": (_session_columns, lambda name: [(f"ix_{name}_day", ["day"])]),
    "stock": (_stock_columns, lambda name: []),
    "stock_movement": (
        _stock_movement_columns,
        lambda name: [(f"ix_{name}_day", ["location", "day"])],
    ),
    "home_visit": (_home_visit_columns, lambda name: [(f"ix_{name}_deadline", ["deadline"])]),
    "blank_request": (
        _blank_request_columns,
        lambda name: [(f"ix_{name}_location", ["location", "requested_at"])],
    ),
    "area_change": (
        _area_change_columns,
        lambda name: [(f"ix_{name}_parent", ["parent_code", "day"])],
    ),
    "area_total": (_area_total_columns, lambda name: [(f"ix_{name}_parent", ["parent_code"])]),
}


def generation_table_name(base: str, generation: int) -> str:
    return f"{base}_g{generation}"


@dataclass(frozen=True, slots=True)
class ReadModelTables:
    """The read-model tables of one generation."""

    generation: int
    metadata: sa.MetaData
    resident: sa.Table
    recording: sa.Table
    session: sa.Table
    stock: sa.Table
    stock_movement: sa.Table
    home_visit: sa.Table
    blank_request: sa.Table
    area_change: sa.Table
    area_total: sa.Table


@functools.cache
def read_model_tables(generation: int) -> ReadModelTables:
    if generation < 1:
        raise ValueError(f"generation must be 1 or more, got {generation}")
    metadata = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    for base, (columns, indexes) in GENERATION_TABLES.items():
        name = generation_table_name(base, generation)
        table = sa.Table(name, metadata, *columns())
        for index_name, index_columns in indexes(name):
            sa.Index(index_name, *(table.c[c] for c in index_columns))
        tables[base] = table
    return ReadModelTables(
        generation=generation,
        metadata=metadata,
        resident=tables["resident"],
        recording=tables["recording"],
        session=tables["outreach_session"],
        stock=tables["stock"],
        stock_movement=tables["stock_movement"],
        home_visit=tables["home_visit"],
        blank_request=tables["blank_request"],
        area_change=tables["area_change"],
        area_total=tables["area_total"],
    )
