"""Partner webhooks without a framework: what a subscription watches, the states of a
delivery, when a failed delivery is tried again, and which addresses a delivery may go to."""

from __future__ import annotations

import ipaddress
import random
import re
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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# One part of an IPv4 literal as the C library's inet_aton reads it (and so the resolver, and
# every HTTP client): decimal, 0x-hex or 0-octal.
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL's host names without asking DNS, in any form a client would connect
    to: `127.0.0.1`, `::1`, `::ffff:127.0.0.1`, and the short, decimal, hex and octal IPv4
    forms (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`); None for a name."""
    host = host.removesuffix(".")
    try:
        return ipaddress.ip_address(host.partition("%")[0])  # an IPv6 zone id is no part of it
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.fullmatch(part) for part in parts):
        return None
    values = [
        int(part, 16) if part[:2] in ("0x", "0X") else int(part, 8 if part[0] == "0" else 10)
        for part in parts
    ]
    # a.b.c.d, a.b.cd (16 bits), a.bcd (24 bits), abcd (32 bits): the last part fills the rest.
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def is_internal(address: IPAddress) -> bool:
    """Loopback, private, link-local (the cloud metadata service at 169.254.169.254),
    multicast, reserved, unspecified or otherwise not public: never a partner's receiver
    outside development. An IPv4-mapped IPv6 address is judged as the IPv4 one it maps."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )
