"""The scopes a caller's token or API key carries, one per capability."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    RESIDENTS_READ = "residents:read"
    RESIDENTS_STATUS = "residents:status"
    RESIDENTS_WRITE = "residents:write"
    RESIDENTS_CENTRAL = "residents:central"
    RESIDENTS_SUBSCRIBE = "residents:subscribe"
    OUTREACH_RECORD = "outreach:record"
    OUTREACH_PLAN = "outreach:plan"
    INVENTORY_PRINT = "inventory:print"
    INVENTORY_READ = "inventory:read"
    ANALYTICS_READ = "analytics:read"
    AUDIT_READ = "audit:read"
    # Implies every other scope; area limits still apply to an admin limited to areas.
    ADMIN = "admin"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.RESIDENTS_READ: "read residents: one resident, search, families, status history",
    Scope.RESIDENTS_STATUS: "the partner status API (`GET /v1/residents/{nik}/ektp-status`)",
    Scope.RESIDENTS_WRITE: "register residents, run and follow register import jobs",
    Scope.RESIDENTS_CENTRAL: "send the national de-duplication results",
    Scope.RESIDENTS_SUBSCRIBE: "subscribe to signed webhooks of e-KTP status changes",
    Scope.OUTREACH_RECORD: "upload recordings captured in the field",
    Scope.OUTREACH_PLAN: "plan outreach sessions, teams and home visits",
    Scope.INVENTORY_PRINT: "print, spoil and issue cards; move blank-card stock",
    Scope.INVENTORY_READ: "read blank-card stock and the print queue",
    Scope.ANALYTICS_READ: "read coverage and the other read models",
    Scope.AUDIT_READ: "search the audit log of access to personal data",
    Scope.ADMIN: "every scope",
}
