"""Indexes for searching the register: by area in NIK order, and by name prefix.

Search pages are in NIK order after a cursor (keyset pagination). With (district_code, nik) and
(village_code, nik) a page of an area is a short index range, however deep the cursor; without
them PostgreSQL walks the primary key and filters (a quarter of a second at 800,000 residents).

A name-prefix search is the range `prefix <= upper(full_name) < prefix'` (prefix' = the prefix
with its last character incremented). That range is exact only in code-point order: PostgreSQL's
locale collations ignore spaces and punctuation at first, so the index is built with the "C"
collation there (SQLite's default BINARY collation is already code-point order). Upper-casing in
the index keeps the search case-insensitive whatever case a name was stored in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_resident_district_nik", "resident", ["district_code", "nik"])
    op.create_index("ix_resident_village_nik", "resident", ["village_code", "nik"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_resident_name_key ON resident ((upper(full_name)) COLLATE "C")')
    else:
        op.execute("CREATE INDEX ix_resident_name_key ON resident (upper(full_name))")


def downgrade() -> None:
    op.drop_index("ix_resident_name_key", table_name="resident")
    op.drop_index("ix_resident_village_nik", table_name="resident")
    op.drop_index("ix_resident_district_nik", table_name="resident")
