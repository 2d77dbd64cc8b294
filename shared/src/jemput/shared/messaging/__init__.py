"""The event bus: transactional outbox and relay, idempotent consumer with inbox and dead letters."""
