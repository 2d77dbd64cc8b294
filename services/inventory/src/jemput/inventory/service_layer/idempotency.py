"""`Idempotency-Key` for writes: the first request with a key claims it in its own transaction
and leaves its answer there; a resend gets that answer back, and nothing is written twice.

The claim is a row under the key (client, key). A twin sent at the same moment waits on that
row (PostgreSQL) or on the database's write lock (SQLite) until the first commits, then reads
its answer. A request that fails rolls its claim back with everything else, so a resend runs.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import IdempotentRequest
from jemput.shared.http.problems import ProblemError


def digest(method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method} {path}\n{body}".encode()).hexdigest()


async def claim(
    session: AsyncSession, *, client_id: str, key: str, request_digest: str
) -> IdempotentRequest | None:
    """None when this request is the first with the key (it must `answer`); otherwise the
    earlier request's stored answer."""
    earlier = await _stored(session, client_id, key)
    if earlier is not None:
        return _same_request(earlier, request_digest)
    try:
        async with session.begin_nested():
            session.add(
                IdempotentRequest(client_id=client_id, key=key, request_digest=request_digest)
            )
    except IntegrityError:
        # A twin with the same key committed first: answer as it did.
        earlier = await _stored(session, client_id, key)
        if earlier is None:
            raise ProblemError(
                409, "Conflict", "The same request is being handled; send it again shortly."
            ) from None
        return _same_request(earlier, request_digest)
    return None


async def answer(
    session: AsyncSession, *, client_id: str, key: str, status_code: int, body: str
) -> None:
    claimed = await _stored(session, client_id, key)
    assert claimed is not None, "answer() without claim()"
    claimed.status_code, claimed.response_body = status_code, body
    session.add(claimed)
    await session.flush()


async def _stored(session: AsyncSession, client_id: str, key: str) -> IdempotentRequest | None:
    query = (
        select(IdempotentRequest)
        .where(col(IdempotentRequest.client_id) == client_id, col(IdempotentRequest.key) == key)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).first()


def _same_request(earlier: IdempotentRequest, request_digest: str) -> IdempotentRequest:
    if earlier.request_digest != request_digest:
        raise ProblemError(
            409,
            "Idempotency-Key reused",
            "This Idempotency-Key was used for a different request; use a new key for a new "
            "request.",
        )
    return earlier
