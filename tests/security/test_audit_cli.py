"""`jemput outreach|inventory audit seal|verify` as real processes on each service's migrated
database: the entries its routes record are sealed, verify says UTUH (exit 0), then RUSAK at a
deleted entry (exit 1). The residents log, with anchors and edits, is tested beside its
service."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from jemput.shared.audit import AuditAction, AuditEntry, AuditResult, record_now
from jemput.shared.db import create_engine
from jemput.shared.testing.fixtures import migrate
from jemput.shared.testing.processes import run_command


@pytest.mark.parametrize(
    ("service", "action"),
    [("outreach", AuditAction.RECORDING_LIST), ("inventory", AuditAction.PRINT_JOB_LIST)],
)
async def test_verify_says_intact_then_broken_at_the_deleted_entry(
    tmp_path: Path, service: str, action: AuditAction
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}"
    await migrate(service, database_url)
    engine = create_engine(database_url)
    try:
        await record_now(
            engine,
            *(
                AuditEntry(
                    client_id="petugas",
                    action=action,
                    result=AuditResult.OK,
                    nik=f"160205010190{n:04d}",
                )
                for n in range(1, 6)
            ),
        )
        sealed = await run_command(service, database_url, "audit", "seal")
        assert sealed.returncode == 0, sealed.stderr
        assert "5 entri disegel" in sealed.stdout

        intact = await run_command(service, database_url, "audit", "verify")
        assert intact.returncode == 0, intact.stdout + intact.stderr
        assert "UTUH: 5 entri tersegel diperiksa" in intact.stdout

        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM audit_log WHERE sequence = 3"))
        broken = await run_command(service, database_url, "audit", "verify")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "RUSAK pada urutan 3: entri dengan urutan ini tidak ada" in broken.stdout
    finally:
        await engine.dispose()
