"""Search the audit log for auditors: newest first, sealed and unsealed, a page at a time."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from jemput.shared.audit.tables import audit_log
from jemput.shared.db import core_connection
from jemput.shared.http.pagination import (
    DEFAULT_PAGE_SIZE,
    Page,
    cut_page,
    decode_page_token,
)
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.nik import NikText


class AuditRecord(BaseModel):
    """One audit entry as stored; `sequence` and the hashes are null until it is sealed."""

    model_config = ConfigDict(frozen=True)

    id: int
    recorded_at: datetime
    client_id: str = Field(description="The authenticated caller (OAuth2 client or API key).")
    purpose: str | None = Field(description="The purpose the caller declared, if any.")
    action: str = Field(description="What was done, e.g. `resident.read`.")
    nik: NikText | None = Field(description="Whose data: the resident's NIK, if one.")
    detail: str | None
    result: str = Field(description="ok, not_found, denied, refused or invalid.")
    request_id: str | None = Field(description="Matches the `x-request-id` of the request.")
    sequence: int | None = Field(description="Position in the hash chain; null until sealed.")
    prev_hash: str | None
    entry_hash: str | None

    @computed_field(description="Sealed into the hash chain (tamper-evident from then on).")  # type: ignore[prop-decorator]
    @property
    def sealed(self) -> bool:
        return self.sequence is not None


async def search(
    db: AsyncSession | AsyncConnection,
    *,
    nik: str | None = None,
    client_id: str | None = None,
    action: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_token: str | None = None,
) -> Page[AuditRecord]:
    """Entries matching every filter given (`from_ <= recorded_at < to`), newest first.

    Pages follow the id (keyset pagination), which grows with time, so entries recorded while
    an auditor pages never shift the pages already read.
    """
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(page_size + 1)
    if nik is not None:
        query = query.where(audit_log.c.nik == nik)
    if client_id is not None:
        query = query.where(audit_log.c.client_id == client_id)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if from_ is not None:
        query = query.where(audit_log.c.recorded_at >= from_)
    if to is not None:
        query = query.where(audit_log.c.recorded_at < to)
    if page_token is not None:
        query = query.where(audit_log.c.id < _before_id(page_token))
    conn = await core_connection(db)
    rows = (await conn.execute(query)).mappings().all()
    records = [AuditRecord.model_validate(dict(row)) for row in rows]
    items, token = cut_page(records, page_size, lambda record: (record.id,))
    return Page(items=items, next_page_token=token)


def _before_id(page_token: str) -> int:
    (last_id,) = decode_page_token(page_token)
    if not isinstance(last_id, int) or last_id < 1:
        raise ProblemError(
            422,
            "Invalid request",
            "One or more fields are invalid; see `errors`.",
            errors=[
                FieldProblem(
                    field="page_token",
                    code="invalid_page_token",
                    reason="page_token is not a token this list returned; start again without it",
                )
            ],
        )
    return last_id
