"""The ledger's rules and the forecast, as pure logic."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from jemput.inventory.domain.forecast import DayUsage, daily_demand, forecast
from jemput.inventory.domain.ledger import (
    Entry,
    EntryKind,
    LedgerRuleBroken,
    Stock,
    count_adjustment,
    stock_of,
)

K = EntryKind
OFFICE = "office"


def test_every_kind_moves_stock_as_its_reason_says() -> None:
    stock = Stock()
    stock = stock.after(Entry(K.RECEIVED, 100, OFFICE))
    assert (stock.on_hand, stock.reserved, stock.available) == (100, 0, 100)
    stock = stock.after(Entry(K.RESERVED, 10, OFFICE))
    assert (stock.on_hand, stock.reserved, stock.available) == (100, 10, 90)
    stock = stock.after(Entry(K.CONSUMED, 4, OFFICE))
    stock = stock.after(Entry(K.SPOILED, 1, OFFICE))
    stock = stock.after(Entry(K.RELEASED, 2, OFFICE))
    assert (stock.on_hand, stock.reserved, stock.available) == (95, 3, 92)
    stock = stock.after(Entry(K.RETURNED, 5, OFFICE))
    stock = stock.after(Entry(K.TRANSFER_OUT, 10, OFFICE))
    stock = stock.after(Entry(K.ADJUSTED, -2, OFFICE))
    assert (stock.on_hand, stock.reserved) == (78, 3)


def test_a_reversal_undoes_its_original() -> None:
    stock = Stock().after(Entry(K.RECEIVED, 50, OFFICE)).after(Entry(K.RESERVED, 5, OFFICE))
    assert stock.after(Entry(K.REVERSAL, 5, OFFICE, reverses=K.RESERVED)) == Stock(50, 0)
    assert stock.after(Entry(K.REVERSAL, 5, OFFICE, reverses=K.RECEIVED)) == Stock(45, 5)
    with pytest.raises(LedgerRuleBroken):
        Entry(K.REVERSAL, 5, OFFICE).effect()


@pytest.mark.parametrize(
    "entry",
    [
        Entry(K.RESERVED, 11, OFFICE),  # only 10 available
        Entry(K.CONSUMED, 1, OFFICE),  # nothing reserved
        Entry(K.RELEASED, 1, OFFICE),
        Entry(K.RETURNED, 11, OFFICE),
        Entry(K.ADJUSTED, -11, OFFICE),
        Entry(K.RECEIVED, 0, OFFICE),
    ],
)
def test_stock_never_goes_negative(entry: Entry) -> None:
    with pytest.raises(LedgerRuleBroken):
        Stock(10, 0).after(entry)


def test_replaying_random_ledgers_matches_running_totals() -> None:
    rng = random.Random(7)
    entries: list[Entry] = []
    running = {OFFICE: Stock(), "16.02.13": Stock()}
    for _ in range(2000):
        location = rng.choice(list(running))
        kind = rng.choice([k for k in K if k is not K.REVERSAL])
        quantity = rng.randint(-5, 5) if kind is K.ADJUSTED else rng.randint(1, 20)
        entry = Entry(kind, quantity or 1, location)
        try:
            running[location] = running[location].after(entry)
        except LedgerRuleBroken:
            continue
        entries.append(entry)
        if rng.random() < 0.1:  # now and then, correct the entry just made
            reversal = Entry(K.REVERSAL, abs(entry.quantity), location, reverses=entry.kind)
            if entry.kind is K.ADJUSTED:
                reversal = Entry(K.ADJUSTED, -entry.quantity, location)
            try:
                running[location] = running[location].after(reversal)
                entries.append(reversal)
            except LedgerRuleBroken:
                pass
    for location, stock in running.items():
        assert stock_of(entries, location) == stock
    assert len(entries) > 500


def test_physical_count_becomes_an_adjustment() -> None:
    stock = Stock(40, 5)
    assert count_adjustment(stock, 37, OFFICE) == Entry(K.ADJUSTED, -3, OFFICE)
    assert count_adjustment(stock, 40, OFFICE) is None
    with pytest.raises(LedgerRuleBroken):
        count_adjustment(stock, 4, OFFICE)


def test_forecast_counts_demand_hidden_by_sukets() -> None:
    start = date(2026, 10, 1)
    # 10 days printing 20 a day, then 5 days out of stock turning away 18 a day with SUKETs,
    # then 5 days printing 25 a day.
    history = (
        [DayUsage(start + timedelta(days=i), 20, 0, False) for i in range(10)]
        + [DayUsage(start + timedelta(days=10 + i), 0, 18, True) for i in range(5)]
        + [DayUsage(start + timedelta(days=15 + i), 25, 0, False) for i in range(5)]
    )
    # Hand calculation: (10*20 + 5*18 + 5*25) / 20 days = (200 + 90 + 125) / 20 = 20.75 a day.
    assert daily_demand(history) == pytest.approx(20.75)
    result = forecast(
        history,
        available=300,
        print_ready_backlog=40,
        sukets_outstanding=90,
        lead_time_days=30,
        safety_days=7,
        cover_days=60,
    )
    # Reorder point: ceil(20.75 * 37) = ceil(767.75) = 768. Owed: 40 + 90 = 130.
    assert result.reorder_point == 768
    assert result.reorder_now  # 300 - 130 = 170 <= 768
    assert result.days_of_cover == pytest.approx(300 / 20.75)
    # Request: ceil(20.75 * 60) + 130 - 300 = 1245 + 130 - 300 = 1075.
    assert result.suggested_request == 1075


def test_no_history_means_no_demand() -> None:
    result = forecast([], available=10, print_ready_backlog=0, sukets_outstanding=0)
    assert (result.daily_demand, result.days_of_cover, result.suggested_request) == (0.0, None, 0)
