"""Stock, the ledger and the movements staff make over HTTP (SQLite and PostgreSQL): receipts,
transfers, counts and reversals; refusals are 409 problems that write nothing; the stored
balances and daily snapshots always equal a replay of the ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from jemput.inventory.adapters.tables import LedgerEntry, StockDay
from jemput.inventory.domain.daily import DayFigures
from jemput.inventory.domain.ledger import Stock
from jemput.inventory.service_layer import daily, ledger
from jemput.inventory.testing import NOW, TODAY, Inventory, start_inventory
from jemput.shared.messaging.tables import outbox
from jemput.shared.testing.auth import shared_issuer

pytestmark = pytest.mark.kafka
PROBLEM = "application/problem+json"


@pytest.fixture
async def inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Inventory]:
    async for driver in start_inventory(database_url, kafka_bootstrap, kafka_namespace):
        yield driver


async def stock_of(inventory: Inventory, location: str, **params: str) -> dict[str, Any]:
    response = await inventory.client.get(
        "/v1/stock-levels", params={"location": location, **params}
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()
    result: dict[str, Any] = item
    return result


async def assert_derived_figures_match_the_ledger(inventory: Inventory) -> None:
    """Every location's balance and daily rows equal the ledger replayed from nothing."""
    async with inventory.runtime.sessions() as session:
        for balance in await ledger.balances(session):
            replayed = await ledger.replay(session, balance.location)
            assert Stock(balance.on_hand, balance.reserved) == replayed
            kept = {
                row.day: DayFigures(
                    row.on_hand,
                    row.reserved,
                    row.min_available,
                    row.received,
                    row.consumed,
                    row.spoiled,
                )
                for row in (
                    await session.exec(
                        select(StockDay).where(StockDay.location == balance.location)
                    )
                ).all()
            }
            assert kept == await daily.replay(session, balance.location)


async def test_every_movement_keeps_stock_and_snapshots_equal_to_the_ledger(
    inventory: Inventory,
) -> None:
    client = inventory.client
    received = await inventory.receive(500, 1)
    assert received["entry"]["kind"] == "RECEIVED"
    assert received["entry"]["serial_to"] == "KTP-000500"
    assert (await stock_of(inventory, "office"))["available"] == 500
    await assert_derived_figures_match_the_ledger(inventory)

    # Transfer 120 to the Kayu Agung district office: both ends under one reference.
    moved = await client.post(
        "/v1/transfers",
        json={"from_location": "office", "to_location": "16.02.05", "quantity": 120},
    )
    assert moved.status_code == 201, moved.text
    transfer = moved.json()
    assert transfer["sent"]["reference"] == transfer["received"]["reference"]
    assert (await stock_of(inventory, "office"))["on_hand"] == 380
    assert (await stock_of(inventory, "16.02.05"))["on_hand"] == 120
    await assert_derived_figures_match_the_ledger(inventory)

    # A count at the district office finds 117: an adjustment of -3 in the counter's name.
    counted = await client.post(
        "/v1/counts",
        json={"location": "16.02.05", "counted": 117, "counter": "Siti", "note": "rak B"},
    )
    assert counted.status_code == 201, counted.text
    count = counted.json()
    assert (count["difference"], count["entry"]["quantity"]) == (-3, -3)
    assert count["entry"]["reference"] == "Siti"
    agreed = await client.post(
        "/v1/counts", json={"location": "16.02.05", "counted": 117, "counter": "Siti"}
    )
    assert agreed.json()["entry"]["quantity"] == 0  # a count that agrees is recorded too
    await assert_derived_figures_match_the_ledger(inventory)

    # The count was wrong: reversed, the adjustment is undone by an opposite one.
    undo_count = await client.post(
        f"/v1/ledger/{count['entry']['id']}:reverse", json={"note": "hitung ulang"}
    )
    assert undo_count.status_code == 201, undo_count.text
    assert undo_count.json()["entries"][0]["quantity"] == 3
    assert (await stock_of(inventory, "16.02.05"))["on_hand"] == 120
    await assert_derived_figures_match_the_ledger(inventory)

    # Reversing the transfer undoes both ends.
    reverse = await client.post(
        f"/v1/ledger/{transfer['received']['id']}:reverse", json={"note": "salah kirim"}
    )
    assert reverse.status_code == 201, reverse.text
    reversals = reverse.json()["entries"]
    assert {e["reverses_id"] for e in reversals} == {
        transfer["sent"]["id"],
        transfer["received"]["id"],
    }
    assert (await stock_of(inventory, "office"))["on_hand"] == 500
    assert (await stock_of(inventory, "16.02.05"))["on_hand"] == 0
    page = await client.get("/v1/ledger", params={"location": "16.02.05"})
    by_id = {e["id"]: e for e in page.json()["items"]}
    assert by_id[transfer["received"]["id"]]["reversed_by_id"] is not None
    assert by_id[count["entry"]["id"]]["reversed_by_id"] == undo_count.json()["entries"][0]["id"]
    await assert_derived_figures_match_the_ledger(inventory)

    # 40 damaged blanks go back to the ministry, then the return is found to be a mistake.
    returned = await client.post(
        "/v1/returns", json={"quantity": 40, "reference": "B-123/DUKCAPIL/2026"}
    )
    assert returned.status_code == 201, returned.text
    entry = returned.json()["entry"]
    assert (entry["kind"], entry["quantity"], entry["location"]) == ("RETURNED", 40, "office")
    assert (await stock_of(inventory, "office"))["on_hand"] == 460
    await assert_derived_figures_match_the_ledger(inventory)
    undo_return = await client.post(f"/v1/ledger/{entry['id']}:reverse", json={"note": "batal"})
    assert undo_return.status_code == 201, undo_return.text
    assert (await stock_of(inventory, "office"))["on_hand"] == 500
    await assert_derived_figures_match_the_ledger(inventory)


async def test_refusals_are_409_problems_and_write_nothing(inventory: Inventory) -> None:
    client = inventory.client
    await inventory.receive(10, 1)
    async with inventory.runtime.sessions() as session:
        entries_before = len((await session.exec(select(LedgerEntry))).all())
    refusals = [
        # More than is available.
        ("/v1/transfers", {"from_location": "office", "to_location": "16.02.05", "quantity": 11}),
        ("/v1/returns", {"quantity": 11, "reference": "B-9"}),
        # The same serials again.
        (
            "/v1/receipts",
            {
                "quantity": 5,
                "allocation_reference": "B-2",
                "serial_from": "KTP-000006",
                "serial_to": "KTP-000010",
            },
        ),
    ]
    for path, body in refusals:
        response = await client.post(path, json=body)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"]
    # A range whose size is not the quantity is refused as well.
    wrong_size = await client.post(
        "/v1/receipts",
        json={
            "quantity": 4,
            "allocation_reference": "B-3",
            "serial_from": "KTP-000011",
            "serial_to": "KTP-000020",
        },
    )
    assert wrong_size.status_code == 409
    # Reversing a reversal, twice the same entry, or a missing entry.
    first = await client.get("/v1/ledger")
    receipt_id = first.json()["items"][0]["id"]
    assert (
        await client.post(f"/v1/ledger/{receipt_id}:reverse", json={"note": "x"})
    ).status_code == 201
    again = await client.post(f"/v1/ledger/{receipt_id}:reverse", json={"note": "x"})
    assert again.status_code == 409
    missing = await client.post("/v1/ledger/999999:reverse", json={"note": "x"})
    assert missing.status_code == 404
    # Bad input never reaches the database: unknown location, same place twice, a
    # quantity of zero, a district outside the regency.
    for path, body in [
        ("/v1/counts", {"location": "16.02.99", "counted": 1, "counter": "A"}),
        ("/v1/counts", {"location": "16.03.01", "counted": 1, "counter": "A"}),
        ("/v1/transfers", {"from_location": "office", "to_location": "office", "quantity": 1}),
        ("/v1/transfers", {"from_location": "office", "to_location": "16.02.05", "quantity": 0}),
        ("/v1/returns", {"quantity": 1, "reference": ""}),
    ]:
        response = await client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.headers["content-type"] == PROBLEM
    async with inventory.runtime.sessions() as session:
        entries_after = len((await session.exec(select(LedgerEntry))).all())
    assert entries_after == entries_before + 1  # only the one reversal that was allowed
    # The reversed receipt's serials can be received again.
    await inventory.receive(10, 1)
    await assert_derived_figures_match_the_ledger(inventory)


async def test_a_resent_write_with_the_same_idempotency_key_writes_once(
    inventory: Inventory,
) -> None:
    client = inventory.client
    body = {
        "quantity": 50,
        "allocation_reference": "B-9",
        "serial_from": "KTP-000001",
        "serial_to": "KTP-000050",
    }
    headers = {"Idempotency-Key": "receipt-b9"}
    first = await client.post("/v1/receipts", json=body, headers=headers)
    second = await client.post("/v1/receipts", json=body, headers=headers)
    # The replay creates nothing: 200, with the first answer's body.
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert (await stock_of(inventory, "office"))["on_hand"] == 50
    other = await client.post("/v1/receipts", json=body | {"quantity": 49}, headers=headers)
    assert other.status_code == 409
    # A refused request leaves its key free: the corrected resend runs.
    count = {"location": "office", "counted": 0, "counter": "A"}
    keyed = {"Idempotency-Key": "count-1"}
    refused = await client.post("/v1/counts", json=count | {"counted": -1}, headers=keyed)
    assert refused.status_code == 422
    done = await client.post("/v1/counts", json=count | {"counted": 48}, headers=keyed)
    assert done.status_code == 201 and done.json()["difference"] == -2


async def test_ledger_filters_pages_and_stock_as_of_a_past_day(inventory: Inventory) -> None:
    client = inventory.client
    clock = inventory.clock
    days = [TODAY - timedelta(days=n) for n in (3, 2, 1)]
    for number, day in enumerate(days):
        clock.moment = NOW - timedelta(days=(TODAY - day).days)
        await inventory.receive(10, 1 + 10 * number)
        await client.post(
            "/v1/transfers",
            json={"from_location": "office", "to_location": "16.02.05", "quantity": 2},
        )
    clock.moment = NOW
    everything = await client.get("/v1/ledger", params={"page_size": 5})
    first_page = everything.json()
    assert len(first_page["items"]) == 5 and first_page["next_page_token"]
    rest = await client.get(
        "/v1/ledger", params={"page_size": 5, "page_token": first_page["next_page_token"]}
    )
    assert rest.json()["next_page_token"] is None
    ids = [e["id"] for e in first_page["items"] + rest.json()["items"]]
    assert ids == sorted(ids) and len(ids) == 9
    middle = await client.get(
        "/v1/ledger",
        params={"from": days[1].isoformat(), "to": days[1].isoformat(), "kind": "TRANSFER_IN"},
    )
    (only,) = middle.json()["items"]
    assert (only["location"], only["quantity"]) == ("16.02.05", 2)
    bad = await client.get("/v1/ledger", params={"page_token": "bm90LWEtdG9rZW4"})
    assert bad.status_code == 422
    # Stock at the close of each day, from the daily snapshot.
    assert (await stock_of(inventory, "office", as_of=days[0].isoformat()))["on_hand"] == 8
    assert (await stock_of(inventory, "office", as_of=days[1].isoformat()))["on_hand"] == 16
    assert (await stock_of(inventory, "16.02.05", as_of=days[2].isoformat()))["on_hand"] == 6
    before = days[0] - timedelta(days=1)
    assert (await stock_of(inventory, "office", as_of=before.isoformat()))["on_hand"] == 0
    future = await client.get(
        "/v1/stock-levels", params={"as_of": (TODAY + timedelta(1)).isoformat()}
    )
    assert future.status_code == 422


async def test_district_staff_read_their_own_office_only(inventory: Inventory) -> None:
    await inventory.receive(30, 1)
    await inventory.client.post(
        "/v1/transfers", json={"from_location": "office", "to_location": "16.02.05", "quantity": 5}
    )
    district = shared_issuer().headers("inventory:read", client_id="kec", areas=["16.02.05"])
    stock = await inventory.client.get("/v1/stock-levels", headers=district)
    assert [item["location"] for item in stock.json()] == ["16.02.05"]
    ledger_page = await inventory.client.get("/v1/ledger", headers=district)
    assert {e["location"] for e in ledger_page.json()["items"]} == {"16.02.05"}
    office = await inventory.client.get(
        "/v1/stock-levels", params={"location": "office"}, headers=district
    )
    assert office.status_code == 403
    write = shared_issuer().headers("inventory:print", client_id="kec", areas=["16.02.05"])
    refused = await inventory.client.post(
        "/v1/counts", json={"location": "16.02.05", "counted": 5, "counter": "A"}, headers=write
    )
    assert refused.status_code == 403


async def test_a_raised_low_threshold_announces_low_stock_once(inventory: Inventory) -> None:
    client = inventory.client
    await inventory.receive(150, 1)

    async def stock_low_events() -> int:
        async with inventory.runtime.sessions() as session:
            types = (await session.exec(select(outbox.c.event_type))).all()
        return sum(1 for t in types if t.endswith("stock_low.v1"))

    before = await stock_low_events()
    path = "/v1/stock-levels/office/low-threshold"
    raised = await client.put(path, json={"low_threshold": 200})
    assert raised.status_code == 200, raised.text
    assert (raised.json()["low_threshold"], raised.json()["available"]) == (200, 150)
    assert (await stock_of(inventory, "office"))["low_threshold"] == 200
    assert await stock_low_events() == before + 1
    # Already low: raising it further is no new crossing.
    assert (await client.put(path, json={"low_threshold": 300})).status_code == 200
    assert await stock_low_events() == before + 1
    # Lowered under the stock, then crossed by a movement: announced again.
    assert (await client.put(path, json={"low_threshold": 100})).status_code == 200
    sent = await client.post("/v1/returns", json={"quantity": 60, "reference": "B-7"})
    assert sent.status_code == 201, sent.text
    assert await stock_low_events() == before + 2
    for bad in ({"low_threshold": -1}, {"low_threshold": "10"}, {}):
        response = await client.put(path, json=bad)
        assert response.status_code == 422, response.text
    unknown = await client.put("/v1/stock-levels/16.02.99/low-threshold", json={"low_threshold": 5})
    assert unknown.status_code == 422


async def test_the_stock_list_names_every_location_the_single_read_answers(
    inventory: Inventory,
) -> None:
    """Before anything moves the list is not empty: each location answers with zeros in the
    list as it does on `?location=`."""
    listed = await inventory.client.get("/v1/stock-levels")
    assert listed.status_code == 200, listed.text
    names = [item["location"] for item in listed.json()]
    assert names[0] == "office" and "16.02.05" in names
    for name in names:
        alone = await stock_of(inventory, name)
        assert alone == next(item for item in listed.json() if item["location"] == name)
    assert (await stock_of(inventory, "office"))["on_hand"] == 0
    await inventory.receive(30, 1)
    office = next(i for i in (await inventory.client.get("/v1/stock-levels")).json())
    assert office == await stock_of(inventory, "office") and office["on_hand"] == 30
