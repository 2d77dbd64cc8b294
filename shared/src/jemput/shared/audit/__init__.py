"""Append-only, tamper-evident audit log of reads and changes of residents' personal data.

Requests `record` entries unsealed inside their own transaction (cheap, no lock); the
`AuditSealer` chains them with SHA-256 in the background, one sealer at a time; `verify_chain`
detects an edited or deleted entry; `search` and `audit_router` serve auditors. UU 27/2022
(personal data protection) asks that access to personal data be traceable.
"""

from jemput.shared.audit.entry import AuditAction, AuditEntry, AuditResult
from jemput.shared.audit.queries import AuditRecord, search
from jemput.shared.audit.recording import record, record_many, record_now
from jemput.shared.audit.sealer import AuditMetrics, AuditSealer
from jemput.shared.audit.tables import create_audit_tables, drop_audit_tables
from jemput.shared.audit.verification import (
    Anchor,
    ChainProblem,
    VerificationReport,
    verify_chain,
)

__all__ = [
    "Anchor",
    "AuditAction",
    "AuditEntry",
    "AuditMetrics",
    "AuditRecord",
    "AuditResult",
    "AuditSealer",
    "ChainProblem",
    "VerificationReport",
    "create_audit_tables",
    "drop_audit_tables",
    "record",
    "record_many",
    "record_now",
    "search",
    "verify_chain",
]
