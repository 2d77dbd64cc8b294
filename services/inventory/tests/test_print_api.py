"""The print queue and SUKETs over HTTP (SQLite and PostgreSQL): jobs by state, printing on
received serials only and once, spoiled prints back in the queue, hand-overs that clear
SUKETs, SUKETs expiring and expired."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from jemput.inventory.testing import NOW, Inventory, start_inventory

pytestmark = pytest.mark.kafka


@pytest.fixture
async def inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Inventory]:
    async for driver in start_inventory(database_url, kafka_bootstrap, kafka_namespace):
        yield driver


async def queue(inventory: Inventory, state: str) -> list[dict[str, Any]]:
    response = await inventory.client.get("/v1/print-jobs", params={"state": state})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_print_spoil_issue_and_sukets(inventory: Inventory) -> None:
    client = inventory.client
    await inventory.receive(3, 1)
    jobs = [await inventory.record(n, at=NOW + timedelta(minutes=n)) for n in range(1, 6)]
    assert [j.id for j in jobs[:3]] == [j["id"] for j in await queue(inventory, "printable")]
    waiting = await queue(inventory, "waiting_for_blank")
    assert [j["id"] for j in waiting] == [jobs[3].id, jobs[4].id]
    assert all(j["suket_number"] for j in waiting)

    def print_on(job_id: str, serial: str) -> Any:
        return client.post(f"/v1/print-jobs/{job_id}:print", json={"card_serial": serial})

    printed = await print_on(jobs[0].id, "KTP-000001")
    assert printed.status_code == 200, printed.text
    assert (printed.json()["state"], printed.json()["card_serial"]) == ("printed", "KTP-000001")
    assert (await print_on(jobs[0].id, "KTP-000001")).status_code == 200  # a resend
    for job_id, serial, why in [
        (jobs[1].id, "KTP-000001", "printed on or spoiled already"),
        (jobs[1].id, "KTP-000999", "not in any receipt"),
        (jobs[0].id, "KTP-000002", "printed, not waiting"),
        (jobs[3].id, "KTP-000002", "no blank is reserved"),
    ]:
        refused = await print_on(job_id, serial)
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert why in refused.json()["detail"]
    missing = await print_on("no-such-job", "KTP-000002")
    assert missing.status_code == 404
    assert (await print_on(jobs[1].id, "KTP-000002")).status_code == 200

    # A spoiled print: the blank is lost, the job waits for the next blank (none left).
    spoil = {"blank_serial": "KTP-000003", "note": "pita printer habis"}
    spoiled = await client.post(f"/v1/print-jobs/{jobs[2].id}:spoil", json=spoil)
    assert spoiled.status_code == 200, spoiled.text
    assert spoiled.json()["state"] == "waiting_for_blank"
    again = await client.post(f"/v1/print-jobs/{jobs[2].id}:spoil", json=spoil)
    assert again.json() == spoiled.json()  # sent twice, spoiled once
    assert (await print_on(jobs[2].id, "KTP-000003")).status_code == 409
    # The forecast counts what is owed once per resident: the spoiled job (print-ready, no
    # blank, no SUKET) and the two SUKET holders.
    owed = (await client.get("/v1/forecast")).json()
    assert (owed["print_ready_backlog"], owed["sukets_waiting_for_blank"]) == (1, 2)

    # Three more blanks: the spoiled job (recorded first) and the two SUKET holders get them.
    receipt = await inventory.receive(3, 4)
    assert receipt["waiting_jobs_served"] == 3
    assert len(await queue(inventory, "printable")) == 3
    # Served but not handed over: still outstanding, in the forecast as in `/v1/sukets`.
    listed = (await client.get("/v1/sukets")).json()["items"]
    after = (await client.get("/v1/forecast")).json()
    assert (after["sukets_outstanding"], after["sukets_waiting_for_blank"]) == (len(listed), 0)
    assert len(listed) == 2

    # Handing over: only a printed card; a SUKET is cleared with it.
    not_printed = await client.post(f"/v1/print-jobs/{jobs[3].id}:issue")
    assert not_printed.status_code == 409
    assert (await print_on(jobs[3].id, "KTP-000004")).status_code == 200
    issued = await client.post(f"/v1/print-jobs/{jobs[3].id}:issue")
    assert issued.status_code == 200 and issued.json()["state"] == "issued"
    assert issued.json()["suket_number"] is None
    cleared = await client.get("/v1/sukets", params={"status": "cleared"})
    assert [s["nik"] for s in cleared.json()["items"]] == [jobs[3].nik]
    outstanding = await client.get("/v1/sukets")
    assert [s["nik"] for s in outstanding.json()["items"]] == [jobs[4].nik]

    # Five months and 25 days on, the SUKET expires within a week; after six months it has.
    inventory.clock.moment = NOW + timedelta(days=177)
    soon = await client.get("/v1/sukets", params={"expiring_within_days": 7})
    (suket,) = soon.json()["items"]
    assert (suket["nik"], suket["expired"], suket["days_left"]) == (jobs[4].nik, False, 5)
    later = await client.get("/v1/sukets", params={"expiring_within_days": 4})
    assert later.json()["items"] == []
    mixed = await client.get("/v1/sukets", params={"status": "cleared", "expiring_within_days": 4})
    assert mixed.status_code == 422
    inventory.clock.moment = NOW + timedelta(days=183)
    expired = await client.get("/v1/sukets", params={"status": "expired"})
    assert [s["expired"] for s in expired.json()["items"]] == [True]
    # Expired, the card is still owed: outstanding, in the list and in the forecast alike.
    still = (await client.get("/v1/sukets")).json()["items"]
    assert [s["nik"] for s in still] == [jobs[4].nik]
    assert (await client.get("/v1/forecast")).json()["sukets_outstanding"] == 1

    types = await inventory.outbox_types()
    assert types.count("card_printed") == 3
    assert types.count("card_spoiled") == 1
    assert types.count("card_issued") == 1
    assert types.count("suket_issued") == 2


async def test_the_queue_pages_in_order_of_recording(inventory: Inventory) -> None:
    await inventory.receive(6, 1)
    jobs = [await inventory.record(n, at=NOW - timedelta(hours=n)) for n in range(1, 6)]
    expected = [j.id for j in sorted(jobs, key=lambda j: j.recorded_at)]
    seen: list[str] = []
    token = None
    while True:
        params = {"page_size": "2"} | ({"page_token": token} if token else {})
        page = (await inventory.client.get("/v1/print-jobs", params=params)).json()
        seen += [j["id"] for j in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == expected
    unready = await inventory.record(9, print_ready=False)
    (held,) = await queue(inventory, "waiting_for_clearance")
    assert held["id"] == unready.id
    refused = await inventory.client.post(
        f"/v1/print-jobs/{unready.id}:print", json={"card_serial": "KTP-000005"}
    )
    assert refused.status_code == 409
    assert "not cleared" in refused.json()["detail"]


async def test_a_spoil_needs_what_a_print_needs(inventory: Inventory) -> None:
    """A job not cleared to print cannot write off a blank either: the stock stays whole."""
    await inventory.receive(2, 1)
    unready = await inventory.record(1, print_ready=False)
    before = (await inventory.client.get("/v1/stock-levels", params={"location": "office"})).json()
    refused = await inventory.client.post(
        f"/v1/print-jobs/{unready.id}:spoil", json={"blank_serial": "KTP-000001", "note": "x"}
    )
    assert refused.status_code == 409, refused.text
    assert "not cleared" in refused.json()["detail"]
    after = (await inventory.client.get("/v1/stock-levels", params={"location": "office"})).json()
    assert after == before
    assert "card_spoiled" not in await inventory.outbox_types()


async def test_a_duplicate_revokes_the_suket_and_a_re_recording_gets_a_new_one(
    inventory: Inventory,
) -> None:
    """A resident flagged duplicate is not cleared as one identity: the job is dropped and its
    SUKET revoked (`suket_revoked`), no longer outstanding in `/v1/sukets` or the forecast.
    Re-recorded, the resident starts a new job and, with no blank, gets a new SUKET."""
    client = inventory.client
    await inventory.receive(1, 1)
    await inventory.record(1, print_ready=False)
    holder = await inventory.record(2, print_ready=False, at=NOW + timedelta(minutes=1))
    (first,) = (await client.get("/v1/sukets")).json()["items"]
    assert first["job_id"] == holder.id

    await inventory.flag_duplicate(2, at=NOW + timedelta(hours=1))
    assert (await client.get("/v1/sukets")).json()["items"] == []
    (revoked,) = (await client.get("/v1/sukets", params={"status": "revoked"})).json()["items"]
    assert (revoked["number"], revoked["expired"]) == (first["number"], False)
    assert revoked["revoked_at"] is not None
    forecast = (await client.get("/v1/forecast")).json()
    assert (forecast["sukets_outstanding"], forecast["sukets_waiting_for_blank"]) == (0, 0)
    (dropped,) = await queue(inventory, "dropped")
    assert (dropped["id"], dropped["suket_number"]) == (holder.id, None)
    assert (await inventory.outbox_types()).count("suket_revoked") == 1
    # Expired or not, a revoked SUKET is no longer outstanding.
    inventory.clock.moment = NOW + timedelta(days=200)
    assert (await client.get("/v1/sukets", params={"status": "expired"})).json()["items"] == []
    inventory.clock.moment = NOW

    again = await inventory.record(2, print_ready=False, at=NOW + timedelta(days=2))
    assert again.id != holder.id
    (renewed,) = (await client.get("/v1/sukets")).json()["items"]
    assert (renewed["job_id"], renewed["nik"]) == (again.id, holder.nik)
    assert renewed["number"] != first["number"]
    assert (await client.get("/v1/forecast")).json()["sukets_outstanding"] == 1
