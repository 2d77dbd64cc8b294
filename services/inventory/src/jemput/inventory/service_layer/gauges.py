"""Blanks per location as Prometheus gauges (available, on hand, reserved), for the alert that
cards are running out: read from the running balances every few seconds in the background,
never at scrape time. Receipts and prints change them in the API's process, recordings in the
consumer's, so the balances are read rather than tracked in memory (one row per location)."""

from __future__ import annotations

from prometheus_client import Gauge

from jemput.inventory.service_layer import ledger
from jemput.shared.gauges import GaugeRefresher
from jemput.shared.runtime import ServiceRuntime


class StockGauges:
    def __init__(self, runtime: ServiceRuntime) -> None:
        self.runtime = runtime
        labels = ["location"]
        registry = runtime.registry
        self.available = Gauge(
            "jemput_blanks_available",
            "Blank cards on hand and not reserved for a print job, per location",
            labels,
            registry=registry,
        )
        self.on_hand = Gauge(
            "jemput_blanks_on_hand", "Blank cards at the location", labels, registry=registry
        )
        self.reserved = Gauge(
            "jemput_blanks_reserved",
            "Blank cards set aside for recorded residents' print jobs",
            labels,
            registry=registry,
        )

    def refresher(self) -> GaugeRefresher:
        return GaugeRefresher(self.refresh, self.runtime.registry)

    async def refresh(self) -> None:
        async with self.runtime.read_sessions() as session:
            balances = await ledger.balances(session)
        for balance in balances:
            self.available.labels(balance.location).set(balance.on_hand - balance.reserved)
            self.on_hand.labels(balance.location).set(balance.on_hand)
            self.reserved.labels(balance.location).set(balance.reserved)
