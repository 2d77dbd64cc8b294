"""Recording capture over HTTP against a real database (SQLite and PostgreSQL): validation,
the recording id as the idempotency key, offline batches, and the events on Kafka."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from jemput.outreach.testing import NOW, Outreach, nik, recording, registered, start_outreach
from jemput.shared.messaging.tables import outbox
from jemput.shared.testing.kafka import read_topic

KNOWN = nik(1)
ODGJ = nik(2)
STRANGER = nik(77)  # the register has not heard of them yet


async def seed(outreach: Outreach) -> None:
    await outreach.apply([registered(1), registered(2, mental_illness=True)])


def codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


async def test_capture_is_validated(outreach: Outreach) -> None:
    await seed(outreach)
    team = await outreach.team(kits=1)
    planned = (await outreach.schedule(team, NOW.date() + timedelta(days=1))).json()
    session = await outreach.session_in_progress(team)
    upload = f"/v1/sessions/{session['id']}/recordings"

    unknown = await outreach.client.post(
        "/v1/sessions/no-such-session/recordings", json=recording("rec-a-000001", KNOWN, "TIM1-K1")
    )
    assert unknown.status_code == 404
    assert codes(unknown) == ["unknown_session"]
    not_started = await outreach.client.post(
        f"/v1/sessions/{planned['id']}/recordings", json=recording("rec-a-000002", KNOWN, "TIM1-K1")
    )
    assert not_started.status_code == 409
    assert codes(not_started) == ["session_not_in_progress"]

    wrong = await outreach.client.post(
        upload,
        json=recording(
            "rec-a-000003",
            "1602055705900000",
            "OTHER-KIT",
            at=NOW + timedelta(hours=2),
            captured=["photo", "fingerprints"],
        ),
    )
    assert wrong.status_code == 422
    assert sorted(codes(wrong)) == [
        "captured_in_future",
        "kit_not_in_session",
        "nik_serial_zero",
    ]
    assert "1602055705900000" not in wrong.text
    incomplete = await outreach.client.post(
        upload, json=recording("rec-a-000004", KNOWN, "TIM1-K1", captured=["photo", "fingerprints"])
    )
    assert codes(incomplete) == ["incomplete_capture"]
    malformed = await outreach.client.post(upload, json={"recording_id": "x"})
    assert malformed.status_code == 422
    assert await outreach.outbox_types() == ["session_scheduled", "session_scheduled"]

    # ODGJ: photo and fingerprints are enough.
    odgj = await outreach.client.post(
        upload, json=recording("rec-a-000005", ODGJ, "TIM1-K1", captured=["photo", "fingerprints"])
    )
    assert odgj.status_code == 201, odgj.text
    assert odgj.json()["captured"] == ["photo", "fingerprints"]


async def test_the_recording_id_is_the_idempotency_key(outreach: Outreach) -> None:
    await seed(outreach)
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)
    upload = f"/v1/sessions/{session['id']}/recordings"
    body = recording("rec-b-000001", KNOWN, "TIM1-K1")

    first = await outreach.client.post(upload, json=body)
    assert first.status_code == 201, first.text
    assert first.json()["unknown_nik"] is False
    events = await outreach.outbox_count()
    # The same recording again: the stored one, and no new event.
    again = await outreach.client.post(upload, json=body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await outreach.outbox_count() == events
    # The same id with another NIK is a conflict, not an overwrite.
    other = await outreach.client.post(upload, json=body | {"nik": ODGJ})
    assert other.status_code == 409
    assert codes(other) == ["recording_id_reused"]
    assert ODGJ not in other.text
    listed = await outreach.client.get(upload)
    (stored,) = listed.json()["items"]
    assert stored["nik"] == KNOWN
    assert await outreach.outbox_count() == events

    # A NIK the register does not know yet is kept and flagged.
    stranger = await outreach.client.post(
        upload, json=recording("rec-b-000002", STRANGER, "TIM1-K1")
    )
    assert stranger.status_code == 201
    assert stranger.json()["unknown_nik"] is True


async def test_a_batch_reports_per_item(outreach: Outreach) -> None:
    await seed(outreach)
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)

    def item(recording_id: str, resident: str, **extra: Any) -> dict[str, Any]:
        return recording(recording_id, resident, "TIM1-K1", **extra) | {"session_id": session["id"]}

    earlier = item("rec-c-000001", KNOWN)
    single = recording("rec-c-000001", KNOWN, "TIM1-K1")
    stored = await outreach.client.post(f"/v1/sessions/{session['id']}/recordings", json=single)
    assert stored.status_code == 201, stored.text
    batch = [
        earlier,  # uploaded before: duplicate
        item("rec-c-000002", ODGJ, captured=["photo", "fingerprints"]),
        item("rec-c-000002", ODGJ, captured=["photo", "fingerprints"]),  # twice in the batch
        item("rec-c-000003", STRANGER),
        item("rec-c-000004", KNOWN) | {"session_id": "nope"},
        item("rec-c-000001", ODGJ),  # a used id for other facts
    ]
    response = await outreach.client.post("/v1/recordings:batch", json={"recordings": batch})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["outcome"], r["status"]) for r in body["results"]] == [
        ("duplicate", 200),
        ("accepted", 201),
        ("duplicate", 200),
        ("accepted", 201),
        ("rejected", 404),
        ("conflict", 409),
    ]
    assert (body["accepted"], body["duplicates"], body["conflicts"], body["rejected"]) == (
        2,
        2,
        1,
        1,
    )
    assert body["results"][3]["recording"]["unknown_nik"] is True
    assert body["results"][2]["recording"]["recording_id"] == "rec-c-000002"
    assert (await outreach.outbox_types()).count("recording_captured") == 3


@pytest.fixture
async def relaying(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Outreach]:
    async for driver in start_outreach(
        database_url, kafka_bootstrap, kafka_namespace, relay_enabled=True
    ):
        yield driver


async def unsent(outreach: Outreach) -> int:
    async with outreach.runtime.engine.connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


@pytest.mark.kafka
async def test_a_batch_sent_twice_records_and_publishes_once(
    relaying: Outreach, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    outreach = relaying
    await seed(outreach)
    team = await outreach.team(kits=2)
    session = await outreach.session_in_progress(team)
    batch = [
        recording(f"rec-d-{i:06d}", nik(100 + i), f"TIM1-K{1 + i % 2}")
        | {"session_id": session["id"]}
        for i in range(40)
    ]
    first = await outreach.client.post("/v1/recordings:batch", json={"recordings": batch})
    assert first.json()["accepted"] == 40
    second = await outreach.client.post("/v1/recordings:batch", json={"recordings": batch})
    assert (second.json()["accepted"], second.json()["duplicates"]) == (0, 40)
    listed = await outreach.client.get(
        f"/v1/sessions/{session['id']}/recordings", params={"page_size": 500}
    )
    assert len(listed.json()["items"]) == 40

    for _ in range(200):
        if await unsent(outreach) == 0:
            break
        await asyncio.sleep(0.05)
    assert await unsent(outreach) == 0
    topic = f"{kafka_namespace}jemput.outreach.v1"
    records = await read_topic(kafka_bootstrap, topic, expect=41)
    types = Counter(dict(r.headers)["ce_type"].decode() for r in records)
    assert types == {
        "jemput.outreach.session_scheduled.v1": 1,
        "jemput.outreach.recording_captured.v1": 40,
    }
    per_recording = Counter(
        json.loads(r.value)["recording_id"]
        for r in records
        if dict(r.headers)["ce_type"] == b"jemput.outreach.recording_captured.v1"
    )
    assert set(per_recording.values()) == {1}
    assert set(per_recording) == {item["recording_id"] for item in batch}
    # Keyed by NIK: a resident's events stay in order across services.
    assert {r.key for r in records if r.key and len(r.key) == 16} >= {
        item["nik"].encode() for item in batch
    }


async def test_a_flagged_recording_goes_out_again_once_the_register_knows_the_nik(
    outreach: Outreach,
) -> None:
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)
    upload = f"/v1/sessions/{session['id']}/recordings"
    kept = await outreach.client.post(upload, json=recording("rec-e-000001", STRANGER, "TIM1-K1"))
    assert kept.json()["unknown_nik"] is True

    await outreach.apply([registered(77)])
    listed = (await outreach.client.get(upload)).json()["items"]
    assert [r["unknown_nik"] for r in listed] == [False]
    async with outreach.runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox.c.payload).where(
                outbox.c.event_type == "jemput.outreach.recording_captured.v1"
            )
        )
        payloads = [json.loads(row[0]) for row in rows]
    assert [(p["recording_id"], p["unknown_nik"]) for p in payloads] == [
        ("rec-e-000001", True),
        ("rec-e-000001", False),
    ]
    # The register's news again changes nothing more.
    await outreach.apply([registered(77)])
    assert (await outreach.outbox_types()).count("recording_captured") == 2
    # And the resident no longer waits to be booked.
    later = (await outreach.schedule(team, NOW.date() + timedelta(days=1))).json()
    booked = await outreach.client.post(
        f"/v1/sessions/{later['id']}/appointments", json={"nik": STRANGER}
    )
    assert [e["code"] for e in booked.json()["errors"]] == ["already_recorded"]
