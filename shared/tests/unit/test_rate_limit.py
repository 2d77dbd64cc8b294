from __future__ import annotations

import pytest

from jemput.shared.security.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_minute_of_allowance_then_the_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one a second
    assert all(limiter.take("bpjs") == 0.0 for _ in range(60))
    wait = limiter.take("bpjs")
    assert wait == pytest.approx(1.0)
    clock.now += 0.5
    assert limiter.take("bpjs") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("bpjs") == 0.0
    assert limiter.take("dinsos") == 0.0  # every client has its own bucket


def test_idle_buckets_are_dropped_when_there_are_too_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("jemput.shared.security.rate_limit.MAX_BUCKETS", 10)
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    for n in range(10):
        limiter.take(f"ip:{n}")
    clock.now += 120  # all full again
    limiter.take("ip:new")
    assert len(limiter._buckets) == 1
    for n in range(20):  # all active at once: the least recent half goes
        limiter.take(f"busy:{n}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 10
