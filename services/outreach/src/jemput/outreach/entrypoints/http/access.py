"""Who may call the outreach routes.

Teams, kits, closures, home visits, the plan and offline batches (which mix sessions) are the
office's, for the whole regency. A session belongs to its village: district staff limited to
areas may schedule, read, run and close the sessions of their areas, and find only those."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import OutreachSession
from jemput.outreach.service_layer import sessions
from jemput.shared.security import Principal, Scope, ensure_may_see, require_scope

# Teams, kits, appointments, home visits, closures and the plan.
Planner = Annotated[Principal, Depends(require_scope(Scope.OUTREACH_PLAN, whole_regency=True))]
# The field teams: offline batches that may hold recordings of any session.
Recorder = Annotated[Principal, Depends(require_scope(Scope.OUTREACH_RECORD, whole_regency=True))]
# The same capabilities on one session, for clients of its area too.
SessionPlanner = Annotated[Principal, Depends(require_scope(Scope.OUTREACH_PLAN))]
SessionRecorder = Annotated[Principal, Depends(require_scope(Scope.OUTREACH_RECORD))]


def actor(principal: Principal) -> str:
    """Who did it, as the outreach tables record it (their columns hold 100)."""
    return principal.client_id[:100]


async def visible_session(
    session: AsyncSession, principal: Principal, session_id: str
) -> OutreachSession:
    """The session (404 if unknown), 403 if it lies outside the principal's areas."""
    row = await sessions.get(session, session_id)
    ensure_may_see(principal, row.village_code, "This session's village")
    return row
