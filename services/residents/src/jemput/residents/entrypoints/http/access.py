"""Who may call the residents routes: the scope each needs, as typed dependencies.

Area limits of district staff are checked in the routes, against the resident's village."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jemput.shared.security import Principal, Scope, require_scope

Reader = Annotated[Principal, Depends(require_scope(Scope.RESIDENTS_READ))]
# Partner agencies: the e-KTP status API and nothing else.
StatusReader = Annotated[Principal, Depends(require_scope(Scope.RESIDENTS_STATUS))]
Writer = Annotated[Principal, Depends(require_scope(Scope.RESIDENTS_WRITE))]
# Whole register files and national results span the regency: no area-limited client.
RegencyWriter = Depends(require_scope(Scope.RESIDENTS_WRITE, whole_regency=True))
CentralSystem = Depends(require_scope(Scope.RESIDENTS_CENTRAL, whole_regency=True))


def history_actor(principal: Principal) -> str:
    """Who changed a resident, as the status history records it (its column holds 100)."""
    return principal.client_id[:100]
