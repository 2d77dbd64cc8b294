"""`jemput residents audit seal|head|verify` as real processes on a migrated residents database:
verify says UTUH (exit 0), then RUSAK at the edited entry (exit 1)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from jemput.shared.audit import AuditAction, AuditEntry, AuditResult, record_now
from jemput.shared.db import create_engine
from jemput.shared.testing.fixtures import migrate
from jemput.shared.testing.processes import run_command


async def test_verify_says_intact_then_broken_at_the_edited_entry(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    await migrate("residents", database_url)
    engine = create_engine(database_url)
    try:
        await record_now(
            engine,
            *(
                AuditEntry(
                    client_id="bpjs-kesehatan",
                    action=AuditAction.RESIDENT_STATUS_READ,
                    result=AuditResult.OK,
                    nik=f"160205010190{n:04d}",
                    purpose="verifikasi kepesertaan",
                )
                for n in range(1, 13)
            ),
        )

        sealed = await run_command("residents", database_url, "audit", "seal")
        assert sealed.returncode == 0, sealed.stderr
        assert "12 entri disegel" in sealed.stdout

        head = await run_command("residents", database_url, "audit", "head")
        assert head.returncode == 0, head.stderr
        anchor = next(
            line.removeprefix("Jangkar: ")
            for line in head.stdout.splitlines()
            if line.startswith("Jangkar: ")
        )
        assert anchor.startswith("12:")

        intact = await run_command("residents", database_url, "audit", "verify", "--anchor", anchor)
        assert intact.returncode == 0, intact.stdout + intact.stderr
        assert "UTUH: 12 entri tersegel diperiksa" in intact.stdout

        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE audit_log SET client_id = 'lain' WHERE sequence = 7")
            )
        broken = await run_command("residents", database_url, "audit", "verify")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "RUSAK pada urutan 7: isi entri tidak cocok lagi dengan hash-nya" in broken.stdout
        assert "6 entri sebelum urutan itu utuh" in broken.stdout
    finally:
        await engine.dispose()


async def test_verify_without_the_tables_cannot_check(tmp_path: Path) -> None:
    result = await run_command(
        "residents", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", "audit", "verify"
    )
    assert result.returncode == 2
    assert "jemput residents migrate" in result.stderr
