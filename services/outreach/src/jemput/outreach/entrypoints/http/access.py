"""Who may call the outreach routes. Outreach works for the whole regency (teams go to any
district), so every route wants a client not limited to areas."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jemput.shared.security import Principal, Scope, require_scope

# Teams, kits, sessions, appointments, home visits, closures and the plan.
Planner = Annotated[Principal, Depends(require_scope(Scope.OUTREACH_PLAN, whole_regency=True))]
# The field teams: start a session, upload its recordings, close it with its outcomes.
Recorder = Annotated[Principal, Depends(require_scope(Scope.OUTREACH_RECORD, whole_regency=True))]


def actor(principal: Principal) -> str:
    """Who did it, as the outreach tables record it (their columns hold 100)."""
    return principal.client_id[:100]
