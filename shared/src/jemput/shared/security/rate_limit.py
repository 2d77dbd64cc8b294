"""Token buckets in memory, one per key (a client id, or an IP address for requests that fail
to authenticate). Each holds up to a minute's allowance and refills continuously, so a client
may burst and then goes on at its steady rate. Per process: no shared store to fail."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Beyond this many buckets, idle (full) ones are dropped: a flood from many addresses must not
# grow memory without bound.
MAX_BUCKETS = 50_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill_per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Spend one request of `key`'s allowance: 0.0 if allowed, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._drop_idle(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(
                self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second
            )
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.refill_per_second

    def _drop_idle(self, now: float) -> None:
        full_after = self.capacity / self.refill_per_second
        kept = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
        if len(kept) >= MAX_BUCKETS:
            # Everyone is active: forget the least recent half (they start over, full).
            recent = sorted(kept.items(), key=lambda item: item[1].updated)[MAX_BUCKETS // 2 :]
            kept = dict(recent)
        self._buckets = kept
