"""Recording capture: `POST /v1/sessions/{id}/recordings` one at a time, and
`POST /v1/recordings:batch` for kits that worked offline and upload at the end of the day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jemput.outreach.adapters.tables import Recording
from jemput.outreach.domain.capture import CaptureFacts
from jemput.outreach.domain.model import Biometric
from jemput.outreach.entrypoints.http.access import (
    Recorder,
    SessionRecorder,
    actor,
    visible_session,
)
from jemput.outreach.entrypoints.http.audit_trail import Trail
from jemput.outreach.entrypoints.http.deps import (
    EARLIEST,
    LATEST,
    ClockDep,
    problem_responses,
    replay_response,
    text_cursor,
)
from jemput.outreach.entrypoints.http.sessions import SessionIdPath
from jemput.outreach.service_layer import recordings
from jemput.outreach.service_layer.recordings import (
    SESSION_NOT_IN_PROGRESS,
    UNKNOWN_SESSION,
    ItemResult,
    Outcome,
)
from jemput.shared.audit import AuditAction, AuditEntry
from jemput.shared.audit.trail import AuditTrail, result_of_status, well_formed_nik
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import IsoAwareDatetime, year_range_pattern
from jemput.shared.nik import NikText

router = APIRouter(tags=["recordings"])

MAX_BATCH = 1000
RECORDING_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$"


class RecordingCreate(BaseModel):
    # Validation errors must not echo the input back: it holds a NIK.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    recording_id: str = Field(
        pattern=RECORDING_ID,
        description="Made by the kit (a UUID, say) and the key of resends: the same id with "
        "the same facts is the stored recording, with other facts a conflict.",
    )
    # Checked per recording (not by the schema) so one bad NIK does not refuse a whole batch.
    nik: NikText = Field(min_length=1, max_length=32)
    captured_at: IsoAwareDatetime = Field(
        json_schema_extra={"pattern": year_range_pattern(EARLIEST, LATEST)}
    )
    kit_serial: str = Field(min_length=1, max_length=40)
    operator: str = Field(min_length=1, max_length=100, description="Who operated the kit.")
    captured: list[Biometric] = Field(
        min_length=1,
        max_length=4,
        description="Photo, fingerprints, iris, signature; residents with a mental illness "
        "(ODGJ) and residents the register does not know yet need photo and fingerprints only.",
    )

    @field_validator("captured_at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        # A kit whose clock lost its battery sends 1970: refuse it rather than misdate, and
        # keep time-zone arithmetic in range.
        if not EARLIEST <= value.date() <= LATEST:
            raise ValueError("captured_at is not a plausible date")
        return value

    def facts(self, session_id: str) -> CaptureFacts:
        return CaptureFacts(
            recording_id=self.recording_id,
            session_id=session_id,
            nik=self.nik,
            captured_at=self.captured_at,
            kit_serial=self.kit_serial,
            operator=self.operator,
            captured=frozenset(self.captured),
        )


class BatchRecording(RecordingCreate):
    session_id: str = Field(min_length=1, max_length=32)
    # The batch takes any text here: an item whose NIK is not one is rejected on its own.
    nik: str = Field(
        min_length=1, max_length=32, description="The resident's NIK (16 digits), per item."
    )


class RecordingBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    recordings: list[BatchRecording] = Field(min_length=1, max_length=MAX_BATCH)


class RecordingPublic(BaseModel):
    recording_id: str
    session_id: str
    nik: NikText
    captured_at: datetime
    kit_serial: str
    operator: str
    captured: list[Biometric]
    unknown_nik: bool = Field(description="The register did not know the NIK on arrival.")
    received_at: datetime


class BatchItem(BaseModel):
    recording_id: str
    outcome: Outcome = Field(
        description="accepted (stored, published); duplicate (sent before with the same "
        "facts: nothing new); conflict (the id was used for other facts); rejected (see "
        "`errors`)."
    )
    status: int = Field(description="The status the single-recording route would answer.")
    recording: RecordingPublic | None
    errors: list[FieldProblem] | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    conflicts: int
    rejected: int
    results: list[BatchItem] = Field(description="One per recording sent, in the same order.")


def recording_view(recording: Recording) -> RecordingPublic:
    return RecordingPublic(
        recording_id=recording.recording_id,
        session_id=recording.session_id,
        nik=recording.nik,
        captured_at=recording.captured_at,
        kit_serial=recording.kit_serial,
        operator=recording.operator,
        captured=[Biometric(b) for b in recording.captured.split(",")],
        unknown_nik=recording.unknown_nik,
        received_at=recording.received_at,
    )


def status_of(result: ItemResult) -> int:
    if result.outcome is Outcome.ACCEPTED:
        return status.HTTP_201_CREATED
    if result.outcome is Outcome.DUPLICATE:
        return status.HTTP_200_OK
    if result.outcome is Outcome.CONFLICT:
        return status.HTTP_409_CONFLICT
    codes = {problem.code for problem in result.problems}
    if UNKNOWN_SESSION in codes:
        return status.HTTP_404_NOT_FOUND
    if SESSION_NOT_IN_PROGRESS in codes:
        return status.HTTP_409_CONFLICT
    return status.HTTP_422_UNPROCESSABLE_CONTENT


@router.post(
    "/v1/sessions/{session_id}/recordings",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordingPublic,
    responses={
        **problem_responses(404, 409, 422),
        **replay_response(RecordingPublic, "The same recording again: the stored one."),
    },
    summary="Upload one recording",
    description=(
        "Accepted for a session in progress, from one of its kits, captured on or after its "
        "day and not in the future, with the biometrics the resident needs. Publishes "
        "`recording_captured.v1`. The same recording again answers 200 and publishes nothing; "
        "a different recording under a used `recording_id` is a 409, never an overwrite. An "
        "unknown session is a 404, a session not in progress a 409. A NIK the register does "
        "not know yet is kept and flagged `unknown_nik`."
    ),
)
async def upload_one(
    session_id: SessionIdPath,
    body: RecordingCreate,
    principal: SessionRecorder,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
    response: Response,
) -> RecordingPublic:
    nik, detail = well_formed_nik(body.nik), _detail(session_id, body.recording_id)
    async with trail.changing(AuditAction.RECORDING_CREATE, nik, detail):
        if principal.limited_to_areas:
            # Others learn of an unknown session from the capture's own per-item problem.
            await visible_session(session, principal, session_id)
        (result,) = await recordings.capture(
            session,
            runtime.outbox,
            [body.facts(session_id)],
            now=clock.now(),
            actor=actor(principal),
        )
        code = status_of(result)
        if result.recording is None:
            raise _problem(code, result.problems)
    if result.outcome is Outcome.ACCEPTED:
        await trail.changed(session, AuditAction.RECORDING_CREATE, [nik], detail)
    response.status_code = code
    return recording_view(result.recording)


@router.post(
    "/v1/recordings:batch",
    response_model=BatchResult,
    responses=problem_responses(422),
    summary="Upload a day's recordings from an offline kit",
    description=(
        f"Up to {MAX_BATCH} recordings of any sessions, in one transaction, each checked on "
        "its own and reported in `results` (same order) with what the single route would have "
        "answered. Sending the same batch again records nothing twice and publishes nothing: "
        "every item comes back `duplicate`."
    ),
)
async def upload_batch(
    body: RecordingBatch,
    principal: Recorder,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> BatchResult:
    facts = [item.facts(item.session_id) for item in body.recordings]
    results = await recordings.capture(
        session, runtime.outbox, facts, now=clock.now(), actor=actor(principal)
    )
    await trail.changed_each(session, _batch_entries(trail, body.recordings, results))
    return _batch_result(results)


@router.get(
    "/v1/sessions/{session_id}/recordings",
    response_model=Page[RecordingPublic],
    responses=problem_responses(404, 422),
    summary="A session's uploaded recordings",
    description="In recording id order; a kit can compare them with what it holds.",
)
async def list_recordings(
    session_id: SessionIdPath,
    principal: SessionRecorder,
    trail: Trail,
    session: ReadSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[RecordingPublic]:
    await visible_session(session, principal, session_id)
    rows = await recordings.of_session(
        session, session_id, limit=page_size + 1, after=text_cursor(page_token)
    )
    items, token = cut_page(rows, page_size, lambda row: (row.recording_id,))
    await trail.read_many(
        AuditAction.RECORDING_LIST, (row.nik for row in items), f"session {session_id}"
    )
    return Page(items=[recording_view(row) for row in items], next_page_token=token)


def _detail(session_id: str, recording_id: str) -> str:
    return f"session {session_id} recording {recording_id}"


def _batch_entries(
    trail: AuditTrail, sent: Sequence[BatchRecording], results: Sequence[ItemResult]
) -> list[AuditEntry]:
    """One entry per item that stored a recording or was refused; a duplicate changed nothing
    (a batch sent again records nothing twice)."""
    return [
        trail.entry(
            AuditAction.RECORDING_CREATE,
            result_of_status(status_of(result)),
            well_formed_nik(item.nik),
            _detail(item.session_id, item.recording_id) + " (batch)",
        )
        for item, result in zip(sent, results, strict=True)
        if result.outcome is not Outcome.DUPLICATE
    ]


def _batch_result(results: Sequence[ItemResult]) -> BatchResult:
    def count(outcome: Outcome) -> int:
        return sum(1 for r in results if r.outcome is outcome)

    return BatchResult(
        accepted=count(Outcome.ACCEPTED),
        duplicates=count(Outcome.DUPLICATE),
        conflicts=count(Outcome.CONFLICT),
        rejected=count(Outcome.REJECTED),
        results=[
            BatchItem(
                recording_id=r.recording_id,
                outcome=r.outcome,
                status=status_of(r),
                recording=recording_view(r.recording) if r.recording else None,
                errors=r.problems or None,
            )
            for r in results
        ],
    )


def _problem(code: int, problems: list[FieldProblem]) -> ProblemError:
    titles: dict[int, tuple[str, str]] = {
        404: ("Not Found", "No session with this id."),
        409: ("Conflict", "The recording cannot be taken as sent; see `errors`."),
        422: ("Invalid request", "One or more fields are invalid; see `errors`."),
    }
    title, detail = titles[code]
    return ProblemError(code, title, detail, errors=problems)
