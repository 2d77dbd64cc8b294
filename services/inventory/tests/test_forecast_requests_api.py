"""The forecast from twenty days of history with a stock-out in the middle, checked against a
hand calculation; requests to the ministry made from it, printed, exported and followed to
receipt (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select

from jemput.inventory.adapters.tables import PrintJob
from jemput.inventory.testing import TODAY, Inventory, on_day, start_inventory

pytestmark = pytest.mark.kafka

FIRST_DAY = date(2026, 11, 1)  # TODAY is 21 November: twenty complete days of history


@pytest.fixture
async def inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Inventory]:
    async for driver in start_inventory(database_url, kafka_bootstrap, kafka_namespace):
        yield driver


class Office:
    """Twenty days of the office: recordings arrive, cards are printed the same day."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.residents = 0
        self.serial = 0  # the last serial printed on or spoiled

    def at(self, day: date, hour: int = 9) -> None:
        self.inventory.clock.moment = on_day(day, hour)

    async def receive(self, day: date, quantity: int, first: int) -> dict[str, Any]:
        self.at(day, 8)
        return await self.inventory.receive(quantity, first, prefix="A")

    async def record(self, day: date, count: int, *, print_ready: bool = True) -> list[str]:
        self.at(day, 10)
        jobs = []
        for _ in range(count):
            self.residents += 1
            job = await self.inventory.record(
                self.residents, print_ready=print_ready, at=on_day(day, 10)
            )
            jobs.append(job.id)
        return jobs

    async def print_all(self, day: date, jobs: list[str]) -> None:
        self.at(day, 14)
        for job_id in jobs:
            self.serial += 1
            printed = await self.inventory.client.post(
                f"/v1/print-jobs/{job_id}:print", json={"card_serial": f"A{self.serial:06d}"}
            )
            assert printed.status_code == 200, printed.text

    async def spoil(self, day: date, job_id: str) -> None:
        self.at(day, 13)
        self.serial += 1
        spoiled = await self.inventory.client.post(
            f"/v1/print-jobs/{job_id}:spoil",
            json={"blank_serial": f"A{self.serial:06d}", "note": "kartu tergores"},
        )
        assert spoiled.status_code == 200, spoiled.text


async def twenty_days(inventory: Inventory) -> None:
    office = Office(inventory)
    day = [FIRST_DAY + timedelta(days=n) for n in range(20)]  # day[0] is 1 November
    await office.receive(day[0], 100, 1)
    for n in range(10):  # 1-10 Nov: 10 a day, printed the same day; the last blank on the 10th
        await office.print_all(day[n], await office.record(day[n], 10))
    for n in range(10, 15):  # 11-15 Nov: out of stock, 8 residents a day get a SUKET
        await office.record(day[n], 8)
    async with inventory.runtime.sessions() as session:
        holders = [
            job.id
            for job in (await session.exec(select(PrintJob).where(PrintJob.state == "OPEN"))).all()
        ]
    assert len(holders) == 40
    # 16 Nov: 200 blanks; the 40 SUKET holders are served and printed, and 12 new residents.
    receipt = await office.receive(day[15], 200, 101)
    assert receipt["waiting_jobs_served"] == 40
    await office.print_all(day[15], holders)
    await office.print_all(day[15], await office.record(day[15], 12))
    # 17 Nov: 12 residents, one print spoiled and printed again on another blank.
    jobs = await office.record(day[16], 12)
    await office.spoil(day[16], jobs[0])
    await office.print_all(day[16], jobs)
    for n, count in ((17, 12), (18, 12), (19, 16)):  # 18-20 Nov
        await office.print_all(day[n], await office.record(day[n], count))
    await office.record(day[19], 5, print_ready=False)  # reserved, not printable yet


async def test_forecast_with_a_stock_out_matches_the_hand_calculation(
    inventory: Inventory,
) -> None:
    await twenty_days(inventory)
    inventory.clock.moment = on_day(TODAY)
    response = await inventory.client.get("/v1/forecast")
    assert response.status_code == 200, response.text
    forecast = response.json()

    # Hand calculation, 1-20 November (20 complete days; today, the 21st, is left out).
    # Printed or spoiled: 10 days x 10 = 100; 16th: 40 SUKET holders (their demand already
    # counted on their SUKET's day, so left out) + 12; 17th: 12 + 1 spoiled; 18th-19th: 12 +
    # 12; 20th: 16. Consumption counted: 100 + 12 + 13 + 12 + 12 + 16 = 165.
    # SUKETs issued on stock-out days: 5 x 8 = 40.
    # Daily demand: (165 + 40) / 20 = 10.25.
    # Stock-out days (no blank available at some moment): the 10th (the last blank reserved),
    # 11th-15th, and the 16th (it opened at zero): 7.
    # Stock now: received 300, out 204 printed + 1 spoiled = 205, so 95 on hand; 5 reserved
    # for jobs not yet print-ready, so 90 available. Nothing owed: no job waits for a blank.
    # The 40 SUKET holders' cards are printed but not handed over: their SUKETs are still
    # outstanding (as `/v1/sukets` lists them), none waits for a blank.
    # Reorder point: ceil(10.25 x (30 + 7)) = ceil(379.25) = 380.
    # Days of cover: 90 / 10.25 = 8.78 -> 8.8.
    # Suggested request: ceil(10.25 x 60) + 0 - 90 = 615 - 90 = 525.
    assert forecast["history_from"] == "2026-11-01"
    assert forecast["history_to"] == "2026-11-20"
    assert forecast["history_days"] == 20
    assert forecast["consumed"] == 165
    assert forecast["sukets_issued"] == 40
    assert forecast["stock_out_days"] == 7
    assert forecast["daily_demand"] == 10.25
    assert (forecast["on_hand"], forecast["reserved"], forecast["available"]) == (95, 5, 90)
    assert (forecast["print_ready_backlog"], forecast["sukets_waiting_for_blank"]) == (0, 0)
    assert forecast["sukets_outstanding"] == 40
    assert forecast["reorder_point"] == 380
    assert forecast["days_of_cover"] == 8.8
    assert forecast["reorder_now"] is True
    assert forecast["suggested_request"] == 525

    # With a ministry that takes 60 days: ceil(10.25 x 67) = ceil(686.75) = 687.
    slower = await inventory.client.get("/v1/forecast", params={"lead_time_days": 60})
    assert slower.json()["reorder_point"] == 687

    # The daily snapshot tells the stock at each day's close.
    async def on_hand(day: str) -> int:
        found = await inventory.client.get(
            "/v1/stock-levels", params={"location": "office", "as_of": day}
        )
        value: int = found.json()[0]["on_hand"]
        return value

    assert await on_hand("2026-10-31") == 0
    assert await on_hand("2026-11-09") == 10
    assert await on_hand("2026-11-13") == 0
    assert await on_hand("2026-11-16") == 148  # 300 received, 100 + 40 + 12 printed


async def test_requests_are_made_printed_exported_and_followed_to_receipt(
    inventory: Inventory,
) -> None:
    await twenty_days(inventory)
    client = inventory.client
    inventory.clock.moment = on_day(TODAY)
    body = {"signed_by": "Drs. H. <Kepala> Dinas", "note": "stok menipis"}
    made = await client.post("/v1/requests", json=body, headers={"Idempotency-Key": "req-1"})
    assert made.status_code == 201, made.text
    request = made.json()
    assert (request["quantity"], request["suggested_quantity"]) == (525, 525)
    assert (request["status"], request["received"], request["outstanding"]) == ("requested", 0, 525)
    resent = await client.post("/v1/requests", json=body, headers={"Idempotency-Key": "req-1"})
    assert resent.json()["id"] == request["id"]
    assert (await inventory.outbox_types()).count("blanks_requested") == 1

    page = await client.get(f"/v1/requests/{request['id']}/document")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Permohonan Blangko KTP-el" in page.text
    assert "&lt;Kepala&gt;" in page.text and "<Kepala>" not in page.text
    exported = await client.get(f"/v1/requests/{request['id']}/document", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(exported.text)))
    assert (rows["quantity"], rows["daily_demand"], rows["status"]) == ("525", "10.25", "requested")

    # Blanks arrive in two deliveries naming the request.
    first = await client.post(
        "/v1/receipts",
        json={
            "quantity": 300,
            "allocation_reference": "B-1/2026",
            "serial_from": "A000301",
            "serial_to": "A000600",
            "request_id": request["id"],
        },
    )
    assert first.status_code == 201, first.text
    partly = await client.get("/v1/requests", params={"status": "partly_received"})
    assert [(r["id"], r["received"]) for r in partly.json()["items"]] == [(request["id"], 300)]
    second = await client.post(
        "/v1/receipts",
        json={
            "quantity": 225,
            "allocation_reference": "B-2/2026",
            "serial_from": "A000601",
            "serial_to": "A000825",
            "request_id": request["id"],
        },
    )
    assert second.status_code == 201
    done = (await client.get(f"/v1/requests/{request['id']}")).json()
    assert (done["status"], done["received"], done["outstanding"]) == ("received", 525, 0)
    receipts = await client.get("/v1/ledger", params={"request_id": request["id"]})
    assert [e["quantity"] for e in receipts.json()["items"]] == [300, 225]
    # The second delivery was entered by mistake: reversed, the request is partly received.
    undo = await client.post(
        f"/v1/ledger/{second.json()['entry']['id']}:reverse", json={"note": "salah input"}
    )
    assert undo.status_code == 201
    assert (await client.get(f"/v1/requests/{request['id']}")).json()["status"] == (
        "partly_received"
    )

    # An unknown request cannot be named; a location without history suggests nothing.
    unknown = await client.post(
        "/v1/receipts",
        json={
            "quantity": 1,
            "allocation_reference": "B-3",
            "serial_from": "A000900",
            "serial_to": "A000900",
            "request_id": "nope",
        },
    )
    assert unknown.status_code == 422
    nothing = await client.post(
        "/v1/requests", json={"location": "16.02.05", "signed_by": "Kepala Dinas"}
    )
    assert nothing.status_code == 422
    inventory.clock.moment += timedelta(hours=1)
    explicit = await client.post(
        "/v1/requests", json={"location": "16.02.05", "signed_by": "Kepala Dinas", "quantity": 50}
    )
    assert explicit.status_code == 201
    listed = await client.get("/v1/requests", params={"page_size": 1})
    assert listed.json()["items"][0]["id"] == explicit.json()["id"]  # the newest first
    assert listed.json()["next_page_token"]
