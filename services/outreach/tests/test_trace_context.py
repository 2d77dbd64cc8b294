"""Outreach's consumer publishes while applying the register's events: a recording kept for a NIK
the register did not know goes out again once it does, in the trace of the register's event
about that resident (each resident's own when a run of them is applied together), while the
upload's own event stays in the trace of the upload request."""

from __future__ import annotations

import json

from sqlalchemy import select

from jemput.outreach.testing import Outreach, nik, recording, registered
from jemput.shared import tracing
from jemput.shared.messaging.tables import outbox

UPLOAD_TRACE = "0af7651916cd43dd8448eb211c80319c"
REGISTER_TRACES = {
    nik(77): "4bf92f3577b34da6a3ce929d0e0e4736",
    nik(78): "5ce03a4688c45eb7b4df03a1f1f15847",
}


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-b7ad6b7169203331-01"


async def test_a_recording_sent_again_continues_the_trace_of_the_registration(
    outreach: Outreach,
) -> None:
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)
    upload = f"/v1/sessions/{session['id']}/recordings"
    for n, stranger in enumerate(REGISTER_TRACES, start=1):
        kept = await outreach.client.post(
            upload,
            json=recording(f"rec-t-00000{n}", stranger, "TIM1-K1"),
            headers={tracing.TRACEPARENT: traceparent(UPLOAD_TRACE)},
        )
        assert kept.json()["unknown_nik"] is True, kept.text

    await outreach.apply(
        [registered(77), registered(78)],
        traces={key: traceparent(trace) for key, trace in REGISTER_TRACES.items()},
    )
    async with outreach.runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.payload, outbox.c.extensions)
            .where(outbox.c.event_type == "jemput.outreach.recording_captured.v1")
            .order_by(outbox.c.id)
        )
        sent = [
            (
                json.loads(payload)["nik"],
                json.loads(payload)["unknown_nik"],
                tracing.trace_id_of((extensions or {}).get(tracing.TRACEPARENT, "-none-")),
            )
            for payload, extensions in rows
        ]
    assert sent == [
        (nik(77), True, UPLOAD_TRACE),
        (nik(78), True, UPLOAD_TRACE),
        (nik(77), False, REGISTER_TRACES[nik(77)]),
        (nik(78), False, REGISTER_TRACES[nik(78)]),
    ]
