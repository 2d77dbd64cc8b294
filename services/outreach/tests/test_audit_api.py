"""Recordings, appointments and home visits name residents: every read and change of them over
HTTP leaves an audit entry (caller, NIK, action, result), refusals included, and auditors find
them at `GET /v1/audit/entries`."""

from __future__ import annotations

import asyncio
from typing import Any

from jemput.outreach.testing import TOMORROW, Outreach, nik, recording, registered
from jemput.shared.testing.auth import shared_issuer

KNOWN, SECOND, THIRD = nik(1), nik(2), nik(3)
CLERK = "petugas-kayuagung"


def caller(scopes: str, client_id: str, **extra: Any) -> dict[str, str]:
    return shared_issuer().headers(scopes, client_id=client_id, **extra)


async def entries(outreach: Outreach, **params: str) -> list[dict[str, Any]]:
    auditor = caller("audit:read", "inspektorat")
    answer = await outreach.client.get(
        "/v1/audit/entries", params={"page_size": "100", **params}, headers=auditor
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def eventually(outreach: Outreach, count: int, **params: str) -> list[dict[str, Any]]:
    """Refusals of changes are stored just after their transaction rolls back."""
    for _ in range(100):
        found = await entries(outreach, **params)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return await entries(outreach, **params)


def seen(log: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((e["client_id"], e["action"], e["result"]) for e in log)


async def test_recordings_appointments_and_home_visits_are_audited(outreach: Outreach) -> None:
    await outreach.apply([registered(1), registered(2), registered(3)])
    clerk = caller("outreach:plan outreach:record", CLERK)
    team = await outreach.team(kits=1)
    planned = (await outreach.schedule(team, TOMORROW)).json()
    running = await outreach.session_in_progress(team)

    booked = await outreach.client.post(
        f"/v1/sessions/{planned['id']}/appointments", json={"nik": KNOWN}, headers=clerk
    )
    assert booked.status_code == 201, booked.text
    elsewhere = caller("outreach:plan", "kec-lempuing", areas=["16.02.13"])
    foreign = await outreach.client.post(
        f"/v1/sessions/{planned['id']}/appointments", json={"nik": SECOND}, headers=elsewhere
    )
    assert foreign.status_code == 403
    listed = await outreach.client.get(f"/v1/sessions/{planned['id']}/appointments", headers=clerk)
    assert [a["nik"] for a in listed.json()["items"]] == [KNOWN]

    upload = f"/v1/sessions/{running['id']}/recordings"
    one = recording("rec-audit-0001", KNOWN, "TIM1-K1")
    assert (await outreach.client.post(upload, json=one, headers=clerk)).status_code == 201
    # Sent again: nothing new, nothing recorded twice.
    assert (await outreach.client.post(upload, json=one, headers=clerk)).status_code == 200
    missing = await outreach.client.post(
        "/v1/sessions/no-such-session/recordings",
        json=recording("rec-audit-0002", THIRD, "TIM1-K1"),
        headers=clerk,
    )
    assert missing.status_code == 404
    batch = {
        "recordings": [
            recording("rec-audit-0003", SECOND, "TIM1-K1") | {"session_id": running["id"]},
            # The id of KNOWN's recording with other facts: a conflict, never an overwrite.
            recording("rec-audit-0001", SECOND, "TIM1-K1") | {"session_id": running["id"]},
        ]
    }
    sent = await outreach.client.post("/v1/recordings:batch", json=batch, headers=clerk)
    assert sent.status_code == 200, sent.text
    assert [r["outcome"] for r in sent.json()["results"]] == ["accepted", "conflict"]
    again = await outreach.client.post("/v1/recordings:batch", json=batch, headers=clerk)
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate", "conflict"]
    listed = await outreach.client.get(upload, headers=clerk)
    assert sorted(r["nik"] for r in listed.json()["items"]) == sorted([KNOWN, SECOND])

    visit = await outreach.client.post(
        "/v1/home-visits", json={"nik": THIRD, "reason": "sick"}, headers=clerk
    )
    assert visit.status_code == 201, visit.text
    queue = await outreach.client.get("/v1/home-visits", headers=clerk)
    assert [v["nik"] for v in queue.json()["items"]] == [THIRD]
    close = f"/v1/home-visits/{visit.json()['id']}:close"
    closed = await outreach.client.post(
        close, json={"outcome": "refused", "reason": "menolak direkam"}, headers=clerk
    )
    assert closed.status_code == 200, closed.text
    reclosed = await outreach.client.post(
        close, json={"outcome": "moved", "reason": "pindah ke Palembang"}, headers=clerk
    )
    assert reclosed.status_code == 409

    assert seen(await eventually(outreach, 4, nik=KNOWN)) == sorted(
        [
            (CLERK, "appointment.create", "ok"),
            (CLERK, "appointment.list", "ok"),
            (CLERK, "recording.create", "ok"),
            (CLERK, "recording.list", "ok"),
        ]
    )
    assert seen(await eventually(outreach, 5, nik=SECOND)) == sorted(
        [
            ("kec-lempuing", "appointment.create", "denied"),
            (CLERK, "recording.create", "ok"),
            # Both batches refused the reused id; the accepted item was recorded once.
            (CLERK, "recording.create", "refused"),
            (CLERK, "recording.create", "refused"),
            (CLERK, "recording.list", "ok"),
        ]
    )
    third = await eventually(outreach, 5, nik=THIRD)
    assert seen(third) == sorted(
        [
            (CLERK, "recording.create", "not_found"),
            (CLERK, "home_visit.create", "ok"),
            (CLERK, "home_visit.list", "ok"),
            (CLERK, "home_visit.close", "ok"),
            (CLERK, "home_visit.close", "refused"),
        ]
    )
    assert all(e["recorded_at"] and e["request_id"] for e in third)
    (batch_entry,) = [
        e
        for e in await entries(outreach, nik=SECOND, action="recording.create")
        if e["result"] == "ok"
    ]
    assert batch_entry["detail"] == f"session {running['id']} recording rec-audit-0003 (batch)"


async def test_declaring_and_revoking_a_closure_are_audited(outreach: Outreach) -> None:
    clerk = caller("outreach:plan", CLERK)
    day = TOMORROW.isoformat()
    body = {"day": day, "reason": "Hari jadi kabupaten"}
    assert (await outreach.client.post("/v1/closures", json=body, headers=clerk)).status_code == 201
    # The same declaration again changes nothing, and records nothing.
    assert (await outreach.client.post("/v1/closures", json=body, headers=clerk)).status_code == 200
    revoked = await outreach.client.delete(f"/v1/closures/{day}", headers=clerk)
    assert revoked.status_code == 204
    missing = await outreach.client.delete(f"/v1/closures/{day}", headers=clerk)
    assert missing.status_code == 404

    declared = await entries(outreach, action="closure.declare")
    assert seen(declared) == [(CLERK, "closure.declare", "ok")]
    log = await eventually(outreach, 2, action="closure.revoke")
    assert seen(log) == [(CLERK, "closure.revoke", "not_found"), (CLERK, "closure.revoke", "ok")]
    assert {e["detail"] for e in declared + log} == {f"closure {day}"}
    assert all(e["nik"] is None for e in declared + log)


async def test_auditors_only(outreach: Outreach) -> None:
    for headers in (
        caller("outreach:plan outreach:record", CLERK),
        caller("audit:read", "district-auditor", areas=["16.02.05"]),
    ):
        answer = await outreach.client.get("/v1/audit/entries", headers=headers)
        assert answer.status_code == 403
