"""`/v1/import-jobs`: upload a register file, follow the import, read its row problems."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlmodel import col, select

from jemput.residents.adapters.tables import (
    ImportErrorPublic,
    ImportJob,
    ImportJobPublic,
    ImportRowError,
)
from jemput.residents.entrypoints.http.access import RegencyWriter, history_actor
from jemput.residents.entrypoints.http.audit_trail import Trail
from jemput.residents.service_layer import importing, register_file
from jemput.shared.audit import AuditAction, AuditResult
from jemput.shared.http.openapi import problem_responses
from jemput.shared.http.pagination import Page
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.service_app import ReadSession, RuntimeDep
from jemput.shared.security import principal_of
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1/import-jobs", tags=["import"], dependencies=[RegencyWriter])
MAX_UPLOAD_BYTES = 2 * 1024**3
# The file is the body, streamed to disk: FastAPI does not read it, so the route says what it is.
# Any bytes are a file (a bad row is that row's error), so no schema narrows them.
REGISTER_FILE = {
    "required": True,
    "description": "The register file; CSV with a header row, or one JSON object per line.",
    "content": {
        media_type: {} for media_type in ("text/csv", "application/x-ndjson", "application/jsonl")
    },
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportJobPublic,
    responses=problem_responses(413, 415, 422),
    openapi_extra={"requestBody": REGISTER_FILE},
    summary="Import a population register file (CSV or NDJSON) as a job",
    description=(
        "Send the file as the request body with `Content-Type: text/csv` or "
        "`application/x-ndjson`, with `; charset=...` when known (else the encoding is "
        "detected). CSV columns may be separated by commas, semicolons or tabs. The import "
        "runs in the background: follow it at `GET /v1/import-jobs/{id}`. Importing the same "
        "file again changes nothing."
    ),
)
async def start_import(
    request: Request,
    trail: Trail,
    runtime: RuntimeDep,
    file_name: Annotated[str, Query(max_length=200)] = "register.csv",
) -> ImportJobPublic:
    media = Message()
    media["content-type"] = request.headers.get("content-type", "")
    content_type = media.get_content_type() if request.headers.get("content-type") else ""
    formats = {"text/csv": "csv", "application/x-ndjson": "ndjson", "application/jsonl": "ndjson"}
    if content_type not in formats:
        raise ProblemError(  # with no content type too, as on every route with a body
            415, "Unsupported Media Type", "Send text/csv or application/x-ndjson."
        )
    charset = media.get_param("charset")
    encoding = None
    if isinstance(charset, str) and charset:
        try:
            encoding = register_file.check_encoding(charset)
        except register_file.RegisterFileError as exc:
            raise ProblemError(415, "Unsupported Media Type", str(exc)) from None
    settings = request.app.state.settings
    job_id = str(uuid.uuid4())
    folder = Path(settings.import_folder)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    path = folder / f"{job_id}.{formats[content_type]}"
    size = 0
    handle = await asyncio.to_thread(path.open, "wb")
    try:
        async for piece in request.stream():
            size += len(piece)
            if size > MAX_UPLOAD_BYTES:
                raise ProblemError(413, "Content Too Large", "The file is larger than 2 GiB.")
            await asyncio.to_thread(handle.write, piece)
    except BaseException:
        handle.close()
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    handle.close()
    await importing.create_job(runtime.engine, job_id, file_name, formats[content_type])
    # The job changes many residents; the auditor follows them through the job's id.
    await trail.write(
        trail.entry(AuditAction.IMPORT_CREATE, AuditResult.OK, detail=f"import job {job_id}")
    )
    actor = history_actor(principal_of(request))
    runtime.spawn(
        _run(
            runtime,
            job_id,
            path,
            formats[content_type],
            settings.regency_code,
            today_in_office(),
            actor,
            encoding,
        ),
        name=f"import-{job_id}",
    )
    return await _job(runtime, job_id)


async def _run(
    runtime: Any,
    job_id: str,
    path: Path,
    file_format: str,
    regency: str,
    today: date,
    actor: str,
    encoding: str | None,
) -> None:
    try:
        await importing.run_import(
            runtime.engine,
            runtime.outbox,
            job_id=job_id,
            path=path,
            file_format=file_format,
            regency_code=regency,
            today=today,
            actor=actor,
            encoding=encoding,
        )
    except Exception:
        pass  # recorded on the job by run_import; the file stays for inspection
    else:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def _job(runtime: Any, job_id: str) -> ImportJobPublic:
    async with runtime.read_sessions() as session:
        job = await session.get(ImportJob, job_id)
    if job is None:
        raise ProblemError(404, "Not Found", "No import job with this id.")
    return ImportJobPublic.model_validate(job)


@router.get(
    "/{job_id}",
    response_model=ImportJobPublic,
    responses=problem_responses(404),
    summary="An import job's progress",
)
async def read_job(job_id: str, session: ReadSession) -> ImportJobPublic:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise ProblemError(404, "Not Found", "No import job with this id.")
    return ImportJobPublic.model_validate(job)


@router.get(
    "/{job_id}/errors",
    response_model=Page[ImportErrorPublic],
    responses=problem_responses(404),
    summary="The rows an import rejected: line, field (the register's column), reason",
)
async def read_job_errors(
    job_id: str,
    session: ReadSession,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str | None, Query(pattern=r"^[0-9]+$")] = None,
) -> Page[ImportErrorPublic]:
    if await session.get(ImportJob, job_id) is None:
        raise ProblemError(404, "Not Found", "No import job with this id.")
    after = int(page_token or 0)
    result = await session.exec(
        select(ImportRowError)
        .where(col(ImportRowError.job_id) == job_id, col(ImportRowError.id) > after)
        .order_by(col(ImportRowError.id))
        .limit(page_size + 1)
    )
    rows = list(result.all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(
        items=[ImportErrorPublic.model_validate(r) for r in rows],
        next_page_token=str(rows[-1].id) if more and rows else None,
    )
