"""Who may call the inventory routes.

Stock and the ledger are per location, and a district office's location is its district code
(`16.02.05`), so district staff limited to their areas read their own office's stock and
ledger; the regency office (`office`) counts as the whole regency. Everything else — the print
queue and SUKETs (the whole regency's residents, printed at the office), the forecast and the
requests to the ministry, and every write — wants a client not limited to areas: printing and
moving blanks are the regency office's work, and a movement touches two locations (a
transfer) or the office's queue (a receipt serves waiting jobs).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jemput.shared.security import Principal, Scope, require_scope

# Stock and ledger of the locations within the caller's areas.
Reader = Annotated[Principal, Depends(require_scope(Scope.INVENTORY_READ))]
# The print queue, SUKETs, forecast and requests.
RegencyReader = Annotated[
    Principal, Depends(require_scope(Scope.INVENTORY_READ, whole_regency=True))
]
# Receipts, transfers, counts, reversals, printing, spoils, hand-overs and requests.
Operator = Annotated[Principal, Depends(require_scope(Scope.INVENTORY_PRINT, whole_regency=True))]


def actor(principal: Principal) -> str:
    """Who did it, as the ledger records it (its column holds 100)."""
    return principal.client_id[:100]
