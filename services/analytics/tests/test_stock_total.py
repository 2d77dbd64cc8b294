"""The stock total is flagged low by the rule each location is flagged by."""

from __future__ import annotations

from jemput.analytics.service_layer.stock import LocationStock, total_of


def location(name: str, on_hand: int, threshold: int | None) -> LocationStock:
    return LocationStock(name, on_hand, 0, 1.0, threshold, None)


def test_a_total_of_one_low_location_is_low() -> None:
    only = location("office", 3, 5)
    assert only.low
    total = total_of([only])
    assert (total.low, total.low_threshold, total.available) == (True, 5, 3)


def test_the_total_compares_its_available_with_the_summed_thresholds() -> None:
    locations = [location("office", 3, 5), location("16.02.05", 40, 10), location("x", 9, None)]
    assert not total_of(locations).low  # 52 available, threshold 15
    assert total_of([location("office", 3, 5), location("16.02.05", 8, 10)]).low  # 11 < 15
    assert not total_of([location("x", 0, None)]).low  # no threshold known
