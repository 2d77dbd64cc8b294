"""`jemput inventory audit seal|verify` as real processes on a migrated inventory database: the
entries the routes record are sealed, verify says UTUH (exit 0), then RUSAK at a deleted entry
(exit 1)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from jemput.shared.audit import AuditAction, AuditEntry, AuditResult, record_now
from jemput.shared.db import create_engine
from jemput.shared.testing.fixtures import migrate


async def jemput(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jemput.shared.cli", "inventory", *args],
        env={
            "JEMPUT_INVENTORY_DATABASE_URL": database_url,
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "160",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_verify_says_intact_then_broken_at_the_edited_entry(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}"
    await migrate("inventory", database_url)
    engine = create_engine(database_url)
    try:
        await record_now(
            engine,
            *(
                AuditEntry(
                    client_id="petugas",
                    action=AuditAction.PRINT_JOB_LIST,
                    result=AuditResult.OK,
                    nik=f"160205010190{n:04d}",
                )
                for n in range(1, 6)
            ),
        )
        sealed = await jemput(database_url, "audit", "seal")
        assert sealed.returncode == 0, sealed.stderr
        assert "5 entri disegel" in sealed.stdout

        intact = await jemput(database_url, "audit", "verify")
        assert intact.returncode == 0, intact.stdout + intact.stderr
        assert "UTUH: 5 entri tersegel diperiksa" in intact.stdout

        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM audit_log WHERE sequence = 3"))
        broken = await jemput(database_url, "audit", "verify")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "RUSAK pada urutan 3: entri dengan urutan ini tidak ada" in broken.stdout
    finally:
        await engine.dispose()
