"""Daily stock snapshot, received serial ranges and used blanks, requests to the ministry,
idempotent request answers.

The snapshot, the ranges and the used blanks are derived from the ledger; rows written before
this revision are filled in from it here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from jemput.inventory.domain.daily import DayFigures, replay_days
from jemput.inventory.domain.ledger import Entry, EntryKind
from jemput.inventory.domain.serials import SerialRange, SerialRangeInvalid
from jemput.shared.db.types import UtcDateTime
from jemput.shared.timezone import office_day

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTRY_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("ledger_entry") as table:
        table.add_column(sa.Column("request_id", sa.String(32), nullable=True))
    op.create_index("ix_ledger_entry_request_id", "ledger_entry", ["request_id"])
    op.create_index("ix_ledger_entry_recorded_at", "ledger_entry", ["recorded_at"])
    with op.batch_alter_table("stock_balance") as table:
        table.add_column(sa.Column("last_day", sa.Date(), nullable=True))
    op.create_table(
        "stock_day",
        sa.Column("location", sa.String(20), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("min_available", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("consumed", sa.Integer(), nullable=False),
        sa.Column("spoiled", sa.Integer(), nullable=False),
        sa.Column("sukets_issued", sa.Integer(), nullable=False),
        sa.Column("suket_prints", sa.Integer(), nullable=False),
    )
    op.create_table(
        "blank_batch",
        sa.Column("entry_id", ENTRY_ID, sa.ForeignKey("ledger_entry.id"), primary_key=True),
        sa.Column("prefix", sa.String(30), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("first_number", sa.BigInteger(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_blank_batch_range", "blank_batch", ["prefix", "digits", "first_number"])
    op.create_table(
        "used_blank",
        sa.Column("serial", sa.String(30), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("entry_id", ENTRY_ID, nullable=False),
    )
    op.create_index("ix_used_blank_job_id", "used_blank", ["job_id"])
    op.create_table(
        "blank_request",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("location", sa.String(20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("suggested_quantity", sa.Integer(), nullable=False),
        sa.Column("daily_demand", sa.Float(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("print_ready_backlog", sa.Integer(), nullable=False),
        sa.Column("sukets_outstanding", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("signed_by", sa.String(100), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_blank_request_created", "blank_request", ["created_at", "id"])
    op.create_table(
        "idempotent_request",
        sa.Column("client_id", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    # SUKETs by expiry, and jobs by state in queue order.
    op.create_index("ix_suket_valid_until", "suket", ["valid_until", "number"])
    op.create_index("ix_print_job_queue", "print_job", ["state", "recorded_at", "id"])
    _fill_from_the_ledger()


def _fill_from_the_ledger() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, kind, quantity, location, reverses_id, serial_from, serial_to, job_id, "
            "recorded_at FROM ledger_entry ORDER BY id"
        )
    ).all()
    if not rows:
        return
    kinds = {row.id: EntryKind(row.kind) for row in rows}
    reversed_ids = {row.reverses_id for row in rows if row.reverses_id is not None}
    suket_jobs = {job for (job,) in bind.execute(sa.text("SELECT job_id FROM suket")).all()}
    entries = []
    suket_prints: Counter[tuple[str, date]] = Counter()
    for row in rows:
        kind = EntryKind(row.kind)
        reverses = kinds.get(row.reverses_id) if kind is EntryKind.REVERSAL else None
        at = _aware(row.recorded_at)
        entries.append((Entry(kind, row.quantity, row.location, reverses=reverses), at))
        if kind is EntryKind.CONSUMED and row.job_id in suket_jobs:
            suket_prints[(row.location, office_day(at))] += 1
        if kind in (EntryKind.CONSUMED, EntryKind.SPOILED) and row.serial_from and row.job_id:
            bind.execute(
                sa.text(
                    "INSERT INTO used_blank (serial, job_id, kind, entry_id) "
                    "VALUES (:serial, :job, :kind, :id)"
                ),
                {"serial": row.serial_from, "job": row.job_id, "kind": row.kind, "id": row.id},
            )
        if kind is EntryKind.RECEIVED and row.serial_from and row.serial_to:
            _insert_batch(bind, row, voided=row.id in reversed_ids)
    # The service counts a SUKET on the day it is issued in the office's books; here the
    # SUKET's own date stands in for it.
    sukets: Counter[tuple[str, date]] = Counter()
    for location, issued_at in bind.execute(
        sa.text("SELECT j.location, s.issued_at FROM suket s JOIN print_job j ON j.id = s.job_id")
    ).all():
        sukets[(location, office_day(_aware(issued_at)))] += 1
    days = replay_days(entries)
    # Days with SUKETs but no entry keep the close of the day before.
    for location, day in sorted(set(sukets) - set(days)):
        earlier = [d for (loc, d) in days if loc == location and d < day]
        close = days[(location, max(earlier))] if earlier else DayFigures(0, 0, 0)
        days[(location, day)] = DayFigures(close.on_hand, close.reserved, close.available)
    latest: dict[str, date] = {}
    for (location, day), figures in sorted(days.items()):
        latest[location] = day
        bind.execute(
            sa.text(
                "INSERT INTO stock_day (location, day, on_hand, reserved, min_available, "
                "received, consumed, spoiled, sukets_issued, suket_prints) VALUES (:location, "
                ":day, :on_hand, :reserved, :min_available, :received, :consumed, :spoiled, "
                ":sukets, :prints)"
            ),
            {
                "location": location,
                "day": day,
                "on_hand": figures.on_hand,
                "reserved": figures.reserved,
                "min_available": figures.min_available,
                "received": figures.received,
                "consumed": figures.consumed,
                "spoiled": figures.spoiled,
                "sukets": sukets[(location, day)],
                "prints": suket_prints[(location, day)],
            },
        )
    for location, day in latest.items():
        bind.execute(
            sa.text("UPDATE stock_balance SET last_day = :day WHERE location = :location"),
            {"day": day, "location": location},
        )


def _insert_batch(bind: sa.Connection, row: sa.Row[Any], *, voided: bool) -> None:
    try:
        serials = SerialRange.of(row.serial_from, row.serial_to)
    except SerialRangeInvalid:
        return  # not a range the service can check serials against: like no range at all
    bind.execute(
        sa.text(
            "INSERT INTO blank_batch (entry_id, prefix, digits, first_number, last_number, "
            "voided) VALUES (:id, :prefix, :digits, :first, :last, :voided)"
        ),
        {
            "id": row.id,
            "prefix": serials.prefix,
            "digits": serials.digits,
            "first": serials.first,
            "last": serials.last,
            "voided": voided,
        },
    )


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite hands back text for a raw SELECT
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def downgrade() -> None:
    op.drop_index("ix_print_job_queue", "print_job")
    op.drop_index("ix_suket_valid_until", "suket")
    op.drop_table("idempotent_request")
    op.drop_table("blank_request")
    op.drop_table("used_blank")
    op.drop_table("blank_batch")
    op.drop_table("stock_day")
    with op.batch_alter_table("stock_balance") as table:
        table.drop_column("last_day")
    op.drop_index("ix_ledger_entry_recorded_at", "ledger_entry")
    op.drop_index("ix_ledger_entry_request_id", "ledger_entry")
    with op.batch_alter_table("ledger_entry") as table:
        table.drop_column("request_id")
