"""Prometheus metrics of the shared machinery, one registry per running service."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class MessagingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.outbox_published = Counter(
            "jemput_outbox_published", "Outbox rows published to Kafka", registry=self.registry
        )
        self.outbox_backlog = Gauge(
            "jemput_outbox_backlog", "Outbox rows not yet published", registry=self.registry
        )
        self.outbox_oldest_age = Gauge(
            "jemput_outbox_oldest_unsent_age_seconds",
            "Age of the oldest unpublished outbox row",
            registry=self.registry,
        )
        self.events_applied = Counter(
            "jemput_events_applied",
            "Events applied by consumers",
            ["event_type"],
            registry=self.registry,
        )
        self.events_duplicate = Counter(
            "jemput_events_duplicate",
            "Events skipped because the inbox had them already",
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "jemput_events_dead_lettered",
            "Messages sent to the dead-letter topic",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "jemput_consumer_lag",
            "Messages on a partition this consumer has not read yet",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "jemput_consumer_batch_seconds",
            "Time to apply one consumer batch",
            registry=self.registry,
        )
