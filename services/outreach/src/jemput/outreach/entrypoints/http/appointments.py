"""`/v1/sessions/{id}/appointments`: residents booked into a session."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict

from jemput.outreach.adapters.tables import Appointment
from jemput.outreach.entrypoints.http.access import SessionPlanner, visible_session
from jemput.outreach.entrypoints.http.audit_trail import Trail
from jemput.outreach.entrypoints.http.deps import (
    problem_responses,
    replay_response,
    text_cursor,
)
from jemput.outreach.entrypoints.http.sessions import SessionIdPath
from jemput.outreach.service_layer import appointments
from jemput.shared.audit import AuditAction
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, WriteSession
from jemput.shared.nik import Nik, NikText

router = APIRouter(prefix="/v1/sessions", tags=["appointments"])


class AppointmentCreate(BaseModel):
    # Validation errors must not echo the NIK back: it is personal data.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    nik: Nik


class AppointmentPublic(BaseModel):
    session_id: str
    nik: NikText
    booked_at: datetime
    recording_id: str | None


def appointment_view(appointment: Appointment) -> AppointmentPublic:
    return AppointmentPublic(
        session_id=appointment.session_id,
        nik=appointment.nik,
        booked_at=appointment.booked_at,
        recording_id=appointment.recording_id,
    )


@router.post(
    "/{session_id}/appointments",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentPublic,
    responses={
        **problem_responses(404, 409, 422),
        **replay_response(AppointmentPublic, "The resident is booked already: that booking."),
    },
    summary="Book a resident into a session",
    description=(
        "Checked against the residents read model built from the register's events: the "
        "resident is known (`unknown_resident`; also for one living outside the areas of a client "
        "limited to areas), alive and living in the regency "
        "(`not_domiciled`), not recorded yet (`already_recorded`) and required to hold an "
        "e-KTP by the session's day (`not_eligible`), all 422. A resident booked in another "
        "open session, or a full session, is a 409. Booking again answers 200."
    ),
)
async def book(
    session_id: SessionIdPath,
    body: AppointmentCreate,
    principal: SessionPlanner,
    trail: Trail,
    session: WriteSession,
    response: Response,
) -> AppointmentPublic:
    detail = f"session {session_id}"
    async with trail.changing(AuditAction.APPOINTMENT_CREATE, body.nik, detail):
        await visible_session(session, principal, session_id)
        appointment, created = await appointments.book(
            session, session_id, body.nik, visible=principal.may_see
        )
    await trail.changed(
        session,
        AuditAction.APPOINTMENT_CREATE,
        [body.nik],
        detail if created else f"{detail}, already booked",
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return appointment_view(appointment)


@router.get(
    "/{session_id}/appointments",
    response_model=Page[AppointmentPublic],
    responses=problem_responses(404, 422),
    summary="A session's appointments",
)
async def list_appointments(
    session_id: SessionIdPath,
    principal: SessionPlanner,
    trail: Trail,
    session: ReadSession,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[AppointmentPublic]:
    await visible_session(session, principal, session_id)
    rows = await appointments.of_session(
        session, session_id, limit=page_size + 1, after=text_cursor(page_token)
    )
    items, token = cut_page(rows, page_size, lambda row: (row.nik,))
    await trail.read_many(
        AuditAction.APPOINTMENT_LIST, (row.nik for row in items), f"session {session_id}"
    )
    return Page(items=[appointment_view(row) for row in items], next_page_token=token)
