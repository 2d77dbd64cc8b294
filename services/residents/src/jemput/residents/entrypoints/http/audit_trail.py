"""The residents routes' audit trail (`jemput.shared.audit.trail`): every read or change of a
resident's personal data leaves an entry. Partner systems (callers without one of the office
scopes below) must say why they ask in `X-Purpose`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jemput.shared.audit.trail import PURPOSE_HEADER as PURPOSE_HEADER
from jemput.shared.audit.trail import AuditTrail, audit_trail_dependency
from jemput.shared.security import Scope

# Callers with one of these work for the office or the ministry; anyone else is a partner.
OFFICE_SCOPES = (Scope.RESIDENTS_READ, Scope.RESIDENTS_WRITE, Scope.RESIDENTS_CENTRAL)

audit_trail = audit_trail_dependency(OFFICE_SCOPES)

Trail = Annotated[AuditTrail, Depends(audit_trail)]
