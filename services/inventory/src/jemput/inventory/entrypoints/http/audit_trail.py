"""The inventory routes' audit trail (`jemput.shared.audit.trail`): print jobs and SUKETs name
residents, so every read or change of them leaves an entry. Every inventory caller works for
the office, so none has to state a purpose (`X-Purpose` is recorded if sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from jemput.inventory.adapters.tables import PrintJob
from jemput.inventory.entrypoints.http.deps import refusals_as_conflicts
from jemput.shared.audit import AuditAction
from jemput.shared.audit.trail import AuditTrail, audit_trail_dependency, loaded_nik
from jemput.shared.http.problems import ProblemError
from jemput.shared.security import Scope

OFFICE_SCOPES = (Scope.INVENTORY_READ, Scope.INVENTORY_PRINT)

Trail = Annotated[AuditTrail, Depends(audit_trail_dependency(OFFICE_SCOPES))]


def job_detail(job_id: str) -> str:
    return f"print job {job_id}"


@asynccontextmanager
async def job_change(
    trail: AuditTrail, session: AsyncSession, action: AuditAction, job_id: str
) -> AsyncIterator[None]:
    """A change of a print job, its refusals as 404/409 problems; a refusal is recorded under
    the job's resident when the job was loaded before it (an unknown job names nobody)."""
    async with trail.changing(action, detail=job_detail(job_id)) as subject:
        try:
            with refusals_as_conflicts():
                yield
        except ProblemError:
            subject.nik = loaded_nik(session, PrintJob, job_id)
            raise
