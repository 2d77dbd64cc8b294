"""Partner webhooks without a framework: what a subscription watches, the states of a
delivery, and when a failed delivery is tried again."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from jemput.shared.security.principal import area_contains

# A partner watching more residents than this subscribes by area: the lists are matched in
# memory for every batch of status changes.
MAX_NIKS = 1000
MAX_AREAS = 100


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the partner answered 2xx
    PARKED = "parked"  # gave up after the last attempt; `retry` re-arms it
    CANCELLED = "cancelled"  # the subscription was deactivated before it went out


@dataclass(frozen=True, slots=True)
class Watch:
    """What one subscription watches: residents by NIK, and everyone living in its areas."""

    niks: frozenset[str]
    areas: tuple[str, ...]

    @classmethod
    def of(cls, niks: Sequence[str], areas: Sequence[str]) -> Watch:
        return cls(frozenset(niks), tuple(areas))

    def covers(self, nik: str, village_code: str) -> bool:
        """The NIK is listed, or the resident's village lies inside one of the areas
        (16.02 covers 16.02.05.1001; 16.02.05 does not cover 16.02.051)."""
        return nik in self.niks or any(area_contains(area, village_code) for area in self.areas)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: the n-th retry waits about `base · 2^(n-1)` seconds,
    at most `cap`; after `max_attempts` failed attempts the delivery is parked.

    The jitter (a random half of the wait) spreads the retries of many deliveries that failed
    together, so a partner coming back is not hit by all of them in the same second."""

    max_attempts: int = 12
    base_seconds: float = 5.0
    cap_seconds: float = 3600.0

    def gives_up_after(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def delay(self, attempts: int, *, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1 for the first)."""
        full = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return full / 2 + full / 2 * rand()
