"""`/v1/central-results`: the national de-duplication system's decisions on recordings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from jemput.residents.domain.model import EktpStatus
from jemput.residents.entrypoints.http.access import CentralSystem
from jemput.residents.entrypoints.http.audit_trail import Trail
from jemput.residents.entrypoints.http.residents import problem_responses
from jemput.residents.service_layer.handlers import (
    CentralOutcome,
    CentralResult,
    apply_central_results,
)
from jemput.shared.audit import AuditAction, AuditResult, record_many
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import RuntimeDep, WriteSession
from jemput.shared.http.types import IsoAwareDatetime
from jemput.shared.nik import NIK_PATTERN, NikText
from jemput.shared.timezone import today_in_office

router = APIRouter(
    prefix="/v1/central-results", tags=["central results"], dependencies=[CentralSystem]
)

MAX_RESULTS = 10_000
# Clocks differ a little between the national system and ours; a decision further in the
# future than this is a mistake, and would order the lifecycle's milestones wrongly.
CLOCK_SKEW = timedelta(minutes=5)


class CentralResultIn(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")

    nik: str = Field(pattern=NIK_PATTERN)
    result: Literal["PRINT_READY_RECORD", "DUPLICATE"] = Field(
        description="PRINT_READY_RECORD: cleared, may be printed; DUPLICATE: matched another record."
    )
    decided_at: IsoAwareDatetime | None = Field(
        default=None, description="When the national system decided (default: now)."
    )
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The national system's reference, kept in the history (default: request id).",
    )


class CentralResultsIn(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="forbid")

    results: list[CentralResultIn] = Field(min_length=1, max_length=MAX_RESULTS)


class CentralResultOut(BaseModel):
    nik: NikText
    outcome: CentralOutcome = Field(
        description="applied; unchanged (the same result again); refused (the lifecycle does "
        "not allow it, see `reason`); not_found (no resident with this NIK)."
    )
    status: EktpStatus | None = Field(description="The resident's status after this result.")
    reason: str | None = None


AUDIT_RESULT_OF_OUTCOME = {
    CentralOutcome.APPLIED: AuditResult.OK,
    CentralOutcome.UNCHANGED: AuditResult.OK,
    CentralOutcome.REFUSED: AuditResult.REFUSED,
    CentralOutcome.NOT_FOUND: AuditResult.NOT_FOUND,
}


class CentralResultsOut(BaseModel):
    results: list[CentralResultOut] = Field(description="One per result sent, in the same order.")


@router.post(
    "",
    response_model=CentralResultsOut,
    responses=problem_responses(422),
    summary="Apply results of the national de-duplication",
    description=(
        f"Up to {MAX_RESULTS:,} results in one transaction. Each is checked against the e-KTP "
        "lifecycle on its own: a refused result or an unknown NIK is reported in its outcome "
        "and the others are applied. Sending the same results again changes nothing "
        "(`unchanged`). Applied results publish `print_ready.v1` or `duplicate_flagged.v1` and "
        "`ektp_status_changed.v1`."
    ),
)
async def post_central_results(
    body: CentralResultsIn, trail: Trail, session: WriteSession, runtime: RuntimeDep
) -> CentralResultsOut:
    now = datetime.now(UTC)
    late = [
        FieldProblem(
            field=f"results.{index}.decided_at",
            code="decided_in_the_future",
            reason="decided_at is in the future",
        )
        for index, item in enumerate(body.results)
        if item.decided_at is not None and item.decided_at > now + CLOCK_SKEW
    ]
    if late:
        raise ProblemError(
            422, "Invalid request", "One or more fields are invalid; see `errors`.", errors=late
        )
    request_id = _request_id()
    results = [
        CentralResult(
            nik=item.nik,
            result=EktpStatus(item.result),
            decided_at=item.decided_at or now,
            reference=item.reference or request_id,
        )
        for item in body.results
    ]
    outcomes = await apply_central_results(
        session, runtime.outbox, results, today=today_in_office()
    )
    # In the same transaction as the changes: both are stored, or neither.
    await record_many(
        session,
        [
            trail.entry(
                AuditAction.CENTRAL_RESULT_APPLY,
                AUDIT_RESULT_OF_OUTCOME[o.outcome],
                o.nik,
                detail=f"{o.outcome} {result.result} {result.reference}",
            )
            for o, result in zip(outcomes, results, strict=True)
        ],
    )
    return CentralResultsOut(
        results=[
            CentralResultOut(nik=o.nik, outcome=o.outcome, status=o.status, reason=o.reason)
            for o in outcomes
        ]
    )


def _request_id() -> str:
    """The request id the HTTP middleware bound to the logs, so history and logs meet."""
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return str(bound)[:64] if bound else uuid.uuid4().hex
