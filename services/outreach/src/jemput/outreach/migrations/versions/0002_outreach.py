"""Teams, kits, sessions, appointments, home visits, recordings, closures, resident view.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.db.types import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Indexes that hold only the rows still in force, on both SQLite and PostgreSQL.
NOT_CANCELLED = sa.text("status <> 'cancelled'")
HELD = sa.text("released = false")
OPEN = sa.text("state = 'open'")
WAITING = sa.text("recorded = false AND alive = true AND domiciled = true")


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("base_code", sa.String(13), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "kit",
        sa.Column("serial", sa.String(40), primary_key=True),
        sa.Column("team_id", sa.String(32), sa.ForeignKey("team.id"), nullable=True),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("note", sa.String(200), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_kit_team_id", "kit", ["team_id"])
    op.create_table(
        "outreach_session",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.String(32), sa.ForeignKey("team.id"), nullable=False),
        sa.Column("per_kit_daily_rate", sa.Integer(), nullable=False),
        sa.Column("planned_capacity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancel_reason", sa.String(300), nullable=True),
        sa.Column("recorded", sa.Integer(), nullable=True),
        sa.Column("failed_to_record", sa.Integer(), nullable=True),
        sa.Column("under_age", sa.Integer(), nullable=True),
        sa.Column("already_has_card", sa.Integer(), nullable=True),
        sa.Column("absent", sa.Integer(), nullable=True),
        sa.Column("expected_recordings", sa.Integer(), nullable=True),
        sa.Column("plan_reason", sa.String(500), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
    )
    # A team is in one place a day: the last guard against two writers at once.
    op.create_index(
        "ux_outreach_session_team_day",
        "outreach_session",
        ["team_id", "day"],
        unique=True,
        sqlite_where=NOT_CANCELLED,
        postgresql_where=NOT_CANCELLED,
    )
    op.create_index("ix_outreach_session_day", "outreach_session", ["day", "id"])
    op.create_table(
        "session_kit",
        sa.Column(
            "session_id", sa.String(32), sa.ForeignKey("outreach_session.id"), primary_key=True
        ),
        sa.Column("kit_serial", sa.String(40), sa.ForeignKey("kit.serial"), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
    )
    # And a kit too.
    op.create_index(
        "ux_session_kit_kit_day",
        "session_kit",
        ["kit_serial", "day"],
        unique=True,
        sqlite_where=HELD,
        postgresql_where=HELD,
    )
    op.create_table(
        "appointment",
        sa.Column(
            "session_id", sa.String(32), sa.ForeignKey("outreach_session.id"), primary_key=True
        ),
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("booked_at", UtcDateTime(), nullable=False),
        sa.Column("recording_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_appointment_nik", "appointment", ["nik"])
    op.create_table(
        "home_visit",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("session_id", sa.String(32), sa.ForeignKey("outreach_session.id"), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_reason", sa.String(300), nullable=True),
        sa.Column("recording_id", sa.String(64), nullable=True),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
    )
    # One open request per resident.
    op.create_index(
        "ux_home_visit_open_nik",
        "home_visit",
        ["nik"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_home_visit_nik", "home_visit", ["nik"])
    op.create_index("ix_home_visit_queue", "home_visit", ["state", "deadline", "id"])
    op.create_table(
        "recording",
        sa.Column("recording_id", sa.String(64), primary_key=True),
        sa.Column(
            "session_id", sa.String(32), sa.ForeignKey("outreach_session.id"), nullable=False
        ),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("captured_at", UtcDateTime(), nullable=False),
        sa.Column("kit_serial", sa.String(40), nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("captured", sa.String(60), nullable=False),
        sa.Column("unknown_nik", sa.Boolean(), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_recording_nik", "recording", ["nik"])
    op.create_index(
        "ix_recording_session_kit", "recording", ["session_id", "kit_serial", "recording_id"]
    )
    op.create_table(
        "office_closure",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("declared_by", sa.String(100), nullable=False),
        sa.Column("declared_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "resident_view",
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ever_married", sa.Boolean(), nullable=False),
        sa.Column("eligible_from", sa.Date(), nullable=False),
        sa.Column("alive", sa.Boolean(), nullable=False),
        sa.Column("domiciled", sa.Boolean(), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("ektp_status", sa.String(24), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("chronically_ill", sa.Boolean(), nullable=False),
        sa.Column("mental_illness", sa.Boolean(), nullable=False),
    )
    # The planner's grouped count reads only the residents still waiting to be recorded.
    op.create_index(
        "ix_resident_view_waiting",
        "resident_view",
        ["village_code", "eligible_from"],
        sqlite_where=WAITING,
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_table("resident_view")
    op.drop_table("office_closure")
    op.drop_table("recording")
    op.drop_table("home_visit")
    op.drop_table("appointment")
    op.drop_table("session_kit")
    op.drop_table("outreach_session")
    op.drop_table("kit")
    op.drop_table("team")
