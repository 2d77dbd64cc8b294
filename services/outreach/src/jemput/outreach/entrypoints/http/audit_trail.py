"""The outreach routes' audit trail (`jemput.shared.audit.trail`): recordings, appointments and
home visits name residents, so every read or change of them leaves an entry. Every outreach
caller works for the office, so none has to state a purpose (`X-Purpose` is recorded if sent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jemput.shared.audit.trail import AuditTrail, audit_trail_dependency
from jemput.shared.security import Scope

OFFICE_SCOPES = (Scope.OUTREACH_PLAN, Scope.OUTREACH_RECORD)

Trail = Annotated[AuditTrail, Depends(audit_trail_dependency(OFFICE_SCOPES))]
